import type { BindingRequest } from '../../metadata/types';

export interface ServiceSchema {
  name: string;
  binding?: BindingRequest;
}
