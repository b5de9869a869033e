export { FifoTransport } from './fifo.transport';
export { fifoTransportModule } from './fifo.module';
export { FifoEndpoint } from './fifo-endpoint';
