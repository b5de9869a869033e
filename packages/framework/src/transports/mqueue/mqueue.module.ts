import { ContainerModule } from 'inversify';
import { TRANSPORT } from '../transport';
import { MqueueTransport } from './mqueue.transport';

/** Registers the POSIX message queue transport (events only). */
export const mqueueTransportModule = new ContainerModule(({ bind }) => {
  bind(MqueueTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(MqueueTransport);
});
