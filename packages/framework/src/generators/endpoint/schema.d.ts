import type { BindingRequest } from '../../metadata/types';

export interface EndpointSchema {
  service: string;
  name: string;
  binding?: BindingRequest;
}
