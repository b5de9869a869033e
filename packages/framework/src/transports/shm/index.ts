export { ShmTransport } from './shm.transport';
export { shmTransportModule } from './shm.module';
