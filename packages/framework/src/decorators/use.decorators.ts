import type { GuardRef, InterceptorRef } from '../contracts/call-pipeline';
import { GUARDS_METADATA, INTERCEPTORS_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { PipelineMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/**
 * Guards for every endpoint of the class, or for one endpoint when on a method. They run in
 * order: global ones (bootstrap's `guards`), the class's, then the method's.
 */
export function UseGuards(...guards: GuardRef[]): ClassDecorator & MethodDecorator {
  return pipelineDecorator<GuardRef>(GUARDS_METADATA, guards);
}

/** Interceptors, outermost first, in the same order as guards: global, class, method. */
export function UseInterceptors(...interceptors: InterceptorRef[]): ClassDecorator & MethodDecorator {
  return pipelineDecorator<InterceptorRef>(INTERCEPTORS_METADATA, interceptors);
}

function pipelineDecorator<T>(key: string, refs: T[]): ClassDecorator & MethodDecorator {
  return ((target: object, propertyKey?: string | symbol) => {
    appendClassMetadata<PipelineMetadata<T>>(key, ownerOf(target), { method: propertyKey === undefined ? undefined : String(propertyKey), refs });
  }) as ClassDecorator & MethodDecorator;
}
