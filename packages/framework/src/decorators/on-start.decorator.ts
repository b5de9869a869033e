import { LIFECYCLE_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { LifecycleMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/** Runs once the service listens, before it is announced in the registry. */
export function OnStart(): MethodDecorator {
  return (target, propertyKey) => {
    appendClassMetadata<LifecycleMetadata>(LIFECYCLE_METADATA, ownerOf(target), { method: String(propertyKey), hook: 'start' });
  };
}
