export { MqueueTransport } from './mqueue.transport';
export { mqueuePlugin } from './mqueue.plugin';
export type { MqueueOptions, MqueueOptionsInput } from './mqueue.options';
