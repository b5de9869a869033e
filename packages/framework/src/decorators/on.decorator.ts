import { SUBSCRIPTIONS_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { SubscriptionMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/** Subscribes a method to an @EventType class. */
export function On(event: Function): MethodDecorator {
  return (target, propertyKey) => {
    appendClassMetadata<SubscriptionMetadata>(SUBSCRIPTIONS_METADATA, ownerOf(target), {
      method: String(propertyKey),
      event,
    });
  };
}
