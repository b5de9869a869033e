export { FifoTransport } from './fifo.transport';
export { fifoPlugin } from './fifo.plugin';
