import type { BindingRequest } from '../../metadata/types';

export interface ContractSchema {
  name: string;
  service?: string;
  binding?: BindingRequest;
}
