export { NatsTransport, type NatsAddress } from './nats.transport';
export { natsTransportModule } from './nats.module';
export { NatsDirectory } from './nats-directory';
