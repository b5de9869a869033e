export interface ServiceSchema {
  name: string;
  binding?: 'auto' | 'shm' | 'socket' | 'uds' | 'tcp' | 'fifo';
}
