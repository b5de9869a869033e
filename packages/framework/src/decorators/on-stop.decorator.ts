import { LIFECYCLE_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { LifecycleMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/** Runs during a graceful stop, after in-flight calls have finished. */
export function OnStop(): MethodDecorator {
  return (target, propertyKey) => {
    appendClassMetadata<LifecycleMetadata>(LIFECYCLE_METADATA, ownerOf(target), { method: String(propertyKey), hook: 'stop' });
  };
}
