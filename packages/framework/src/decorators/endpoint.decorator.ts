import { ENDPOINTS_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { EndpointMetadata, EndpointOptions } from '../metadata/types';

/** Exposes a method for request/response. */
export function Endpoint(options: EndpointOptions = {}): MethodDecorator {
  return (target, propertyKey) => {
    appendClassMetadata<EndpointMetadata>(ENDPOINTS_METADATA, ownerOf(target), { method: String(propertyKey), options });
  };
}

/** Method decorators receive the prototype (or the class itself for statics). */
export function ownerOf(target: object): Function {
  return typeof target === 'function' ? target : (target.constructor as Function);
}
