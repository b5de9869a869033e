export { FifoTransport } from './fifo.transport';
export { fifoTransportModule } from './fifo.module';
export { FifoEndpoint, parseRequestLine, type Envelope } from './fifo-endpoint';
