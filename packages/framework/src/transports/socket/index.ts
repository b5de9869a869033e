export { UdsTransport } from './uds.transport';
export { TcpTransport } from './tcp.transport';
export { udsPlugin } from './uds.plugin';
export { tcpPlugin } from './tcp.plugin';
export type { TcpOptions, TcpOptionsInput } from './tcp.options';
