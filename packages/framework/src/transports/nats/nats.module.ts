import { ContainerModule } from 'inversify';
import { REMOTE_DIRECTORY } from '../../runtime/remote-directory';
import { TRANSPORT } from '../transport';
import { NatsDirectory } from './nats-directory';
import { NatsTransport } from './nats.transport';

/** Registers the NATS transport and directory; loaded only when `nats.servers` is configured. */
export const natsTransportModule = new ContainerModule(({ bind }) => {
  bind(NatsTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(NatsTransport);
  bind(NatsDirectory).toSelf().inSingletonScope();
  bind(REMOTE_DIRECTORY).toService(NatsDirectory);
});
