import { ContainerModule } from 'inversify';
import { TRANSPORT } from '../transport';
import { ShmTransport } from './shm.transport';

/** Registers the shared-memory transport. */
export const shmTransportModule = new ContainerModule(({ bind }) => {
  bind(ShmTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(ShmTransport);
});
