import { CONTEXT_PARAMS_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { ContextParamMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/** Injects the CallContext (or EventContext) of the current call into a handler parameter. */
export function Ctx(): ParameterDecorator {
  return (target, propertyKey, index) => {
    appendClassMetadata<ContextParamMetadata>(CONTEXT_PARAMS_METADATA, ownerOf(target), {
      method: String(propertyKey),
      index,
    });
  };
}
