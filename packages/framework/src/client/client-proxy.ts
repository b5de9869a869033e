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
 * name on first use; probes such as `then` (await) or `toJSON` are not calls.
 *
 * The client is a plain object whose prototype is the Proxy: a method's first use falls
 * through to the Proxy, which defines it on the client, and every later call finds an
 * ordinary own property (inline-cached, no trap, no lookup by name).
 */
export function createClientProxy<Api>(caller: Caller, options?: CallOptions, streams: ReadonlySet<string> = NO_STREAMS): Client<Api> {
  const withOptions = (more: CallOptions) => createClientProxy<Api>(caller, { ...options, ...more }, streams);
  const alloc = (size: number) => caller.alloc?.(size) ?? Buffer.allocUnsafe(size);
  const finder = new Proxy(Object.create(null) as object, {
    get(_target, property, receiver: object) {
      if (property === '$with') return withOptions;
      if (property === '$alloc') return alloc;
      if (typeof property !== 'string' || !isCallableName(property)) return undefined;
      const method =
        streams.has(property) && caller.stream !== undefined
          ? (...args: unknown[]) => caller.stream!(property, args, options)
          : (...args: unknown[]) => caller.call(property, args, options);
      // On the client itself, not through a subclass or Reflect.get with another receiver.
      // Writable and configurable, so a test may stub or spy on it; a frozen client simply keeps asking the Proxy.
      if (receiver === client) Reflect.defineProperty(client, property, { value: method, writable: true, configurable: true });
      return method;
    },
    has(_target, property) {
      return typeof property === 'string' && isCallableName(property);
    },
  });
  const client = Object.create(finder) as object;
  return client as Client<Api>;
}
