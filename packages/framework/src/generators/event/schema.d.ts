export interface EventSchema {
  name: string;
  service?: string;
  publisher?: string;
  priority?: number;
  binding?: 'auto' | 'mqueue' | 'socket' | 'uds' | 'shm';
}
