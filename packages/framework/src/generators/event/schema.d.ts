export interface EventSchema {
  name: string;
  service?: string;
  priority?: number;
  binding?: 'auto' | 'mqueue' | 'socket' | 'uds' | 'shm';
}
