export { ShmTransport } from './shm.transport';
export { shmPlugin } from './shm.plugin';
export type { ShmOptions, ShmOptionsInput } from './shm.options';
