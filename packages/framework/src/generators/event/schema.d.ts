import type { BindingRequest } from '../../metadata/types';

export interface EventSchema {
  name: string;
  service?: string;
  publisher?: string;
  priority?: number;
  binding?: BindingRequest;
}
