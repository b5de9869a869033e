export { UdsTransport } from './uds.transport';
export { TcpTransport, type TcpOptions } from './tcp.transport';
export { socketTransportModule } from './socket.module';
export { generateDevCerts, parseDevCertHosts, type DevCertHost, type DevCerts, type DevCertsOptions } from './dev-certs';
export { loadTlsMaterial, isLoopback, type TlsMaterial } from './tls-options';
export type { TlsFileOptions } from '../../runtime/config';
