import { ContainerModule } from 'inversify';
import { TRANSPORT } from '../transport';
import { FifoTransport } from './fifo.transport';

/** Registers the named-pipe transport. */
export const fifoTransportModule = new ContainerModule(({ bind }) => {
  bind(FifoTransport).toSelf().inSingletonScope();
  bind(TRANSPORT).toService(FifoTransport);
});
