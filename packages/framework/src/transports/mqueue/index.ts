export { MqueueTransport } from './mqueue.transport';
export { mqueueTransportModule } from './mqueue.module';
