import { ContainerModule } from 'inversify';
import { TRANSPORT } from '../transport';
import { TcpTransport } from './tcp.transport';
import { UdsTransport } from './uds.transport';

/** Registers the Unix-socket and TCP transports. */
export const socketTransportModule = new ContainerModule(({ bind }) => {
  bind(UdsTransport).toSelf().inSingletonScope();
  bind(TcpTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(UdsTransport);
  bind(TRANSPORT).toService(TcpTransport);
});
