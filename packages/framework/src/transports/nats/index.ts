export { NatsTransport, type NatsAddress } from './nats.transport';
export { natsPlugin } from './nats.plugin';
export type { NatsOptions, NatsConfig } from './nats.options';
