import { SIGNALS_METADATA } from '../metadata/keys';
import { appendClassMetadata } from '../metadata/reflect';
import type { ServiceSignal, SignalMetadata } from '../metadata/types';
import { ownerOf } from './endpoint.decorator';

/** Runs the method when the process receives `signal`. */
export function OnSignal(signal: ServiceSignal): MethodDecorator {
  return (target, propertyKey) => {
    appendClassMetadata<SignalMetadata>(SIGNALS_METADATA, ownerOf(target), { method: String(propertyKey), signal });
  };
}
