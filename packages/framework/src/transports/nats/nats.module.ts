import { ContainerModule } from 'inversify';
import { TRANSPORT } from '../transport';
import { NatsTransport } from './nats.transport';

/** Registers the NATS transport; loaded only when `nats.servers` is configured. */
export const natsTransportModule = new ContainerModule(({ bind }) => {
  bind(NatsTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(NatsTransport);
});
