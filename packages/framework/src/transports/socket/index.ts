export { UdsTransport } from './uds.transport';
export { TcpTransport, type TcpOptions } from './tcp.transport';
export { socketTransportModule } from './socket.module';
