import type { BindingRequest } from '../../metadata/types';

export interface ServiceSchema {
  name: string;
  binding?: BindingRequest;
  /** A streaming endpoint `ticks` beside `hello`, as `endpoint --stream` writes it. */
  stream?: boolean;
}
