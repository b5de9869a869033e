import { EVENT_TYPE_METADATA } from '../metadata/keys';
import type { EventTypeMetadata, EventTypeOptions } from '../metadata/types';
import '../metadata/reflect';

/** Declares a class as a typed event, published under `name`. */
export function EventType(name: string, options: EventTypeOptions = {}): ClassDecorator {
  return (target) => {
    const metadata: EventTypeMetadata = { name, options };
    Reflect.defineMetadata(EVENT_TYPE_METADATA, metadata, target);
  };
}
