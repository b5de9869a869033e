import type { BindingRequest } from '../../metadata/types';

export interface EndpointSchema {
  service: string;
  name: string;
  binding?: BindingRequest;
  /** An async generator returning AsyncIterable<string>, declared `{ stream: true }` in the contract. */
  stream?: boolean;
}
