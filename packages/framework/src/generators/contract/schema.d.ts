export interface ContractSchema {
  name: string;
  service?: string;
  binding?: 'auto' | 'shm' | 'socket' | 'uds' | 'tcp' | 'fifo';
}
