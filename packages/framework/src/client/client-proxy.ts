import type { CallOptions, Client } from '../contracts/client';
import { isCallableName } from '../metadata/explorer';

export interface Caller {
  call(method: string, args: unknown[], options: CallOptions | undefined): Promise<unknown>;
  /** A call whose result is a stream, returned at once. */
  stream?(method: string, args: unknown[], options: CallOptions | undefined): AsyncIterableIterator<unknown>;
  /** A Buffer to send without a copy where the mechanism allows (`$alloc`). */
  alloc?(size: number): Buffer;
}

const NO_STREAMS: ReadonlySet<string> = new Set();

/**
 * A typed client over a Caller. Contracts exist only as types, so methods are found by
 * name on first use and cached; probes such as `then` (await) or `toJSON` are not calls.
 */
export function createClientProxy<Api>(caller: Caller, options?: CallOptions, streams: ReadonlySet<string> = NO_STREAMS): Client<Api> {
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  const withOptions = (more: CallOptions) => createClientProxy<Api>(caller, { ...options, ...more }, streams);
  const alloc = (size: number) => caller.alloc?.(size) ?? Buffer.allocUnsafe(size);
  return new Proxy(Object.create(null) as object, {
    get(_target, property) {
      let method = methods.get(property as string);
      if (method !== undefined) return method;
      if (property === '$with') return withOptions;
      if (property === '$alloc') return alloc;
      if (typeof property !== 'string' || !isCallableName(property)) return undefined;
      method =
        streams.has(property) && caller.stream !== undefined
          ? (...args: unknown[]) => caller.stream!(property, args, options)
          : (...args: unknown[]) => caller.call(property, args, options);
      methods.set(property, method);
      return method;
    },
    has(_target, property) {
      return typeof property === 'string' && isCallableName(property);
    },
  }) as Client<Api>;
}
