import type { ServiceIdentifier } from 'inversify';
import type { Contract } from './contract';

export interface CallOptions {
  /** Overrides the endpoint's default timeout, in milliseconds. */
  timeoutMs?: number;
  /** Aborting rejects the call with CallAbortedError and tells the service to cancel. */
  signal?: AbortSignal;
  /** Sent with the call as frame metadata; the handler reads them with `CallContext.header(name)`. */
  headers?: Readonly<Record<string, string | number>>;
  /**
   * Streams: fail with CallTimeoutError when the consumer waits longer than this for the next
   * item. (A stream has no overall deadline unless `timeoutMs` is given; the endpoint's own
   * timeout then bounds only the wait for the service to open it.)
   */
  idleTimeoutMs?: number;
  /**
   * Streams: how far the service may run ahead of the consumer, in items and body bytes (one
   * frame may overrun the bytes). What the consumer has not read yet stays within it.
   * Default 4096 items, 4 MiB.
   */
  window?: { items?: number; bytes?: number };
}

type AnyFunction = (...args: never[]) => unknown;

/**
 * A result stream: iterate it with `for await`; leaving the loop early (break, return, throw)
 * cancels it at the service, whose generator sees `return()` and its signal abort.
 */
export interface ClientStream<T> extends AsyncIterableIterator<T> {
  /** Stops the stream: the service is told, and items not yet read are dropped. */
  cancel(): void;
}

/** What a client's method returns: a stream for a method returning an async iterable, else a promise. */
export type ClientResult<R> = 0 extends 1 & R
  ? Promise<R>
  : [R] extends [never]
    ? Promise<never>
    : [R] extends [AsyncIterable<infer T>]
      ? ClientStream<T>
      : Promise<Awaited<R>>;

/**
 * The typed proxy a caller holds: every method of the contract returns a Promise, except a
 * streaming one (it returns an AsyncIterable, and the contract declares it `{ stream: true }`),
 * which returns its stream at once.
 */
export type Client<Api> = {
  readonly [K in keyof Api as Api[K] extends AnyFunction ? K : never]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => ClientResult<R> : never;
} & {
  /** The same client with per-call options (timeout, AbortSignal) applied to every call. */
  $with(options: CallOptions): Client<Api>;
  /**
   * `size` bytes to fill and pass as a Buffer argument. Over shared memory they are a loan from
   * the connection's pool and cross without a copy; elsewhere (or before the first call has
   * connected) a plain Buffer. A loan is consumed by the call it is sent with: do not touch it
   * afterwards. One never sent returns to the pool when it is garbage-collected.
   */
  $alloc(size: number): Buffer;
};

const tokens = new Map<string, symbol>();

/** The inversify service identifier of a typed client for `contract`. */
export function clientOf<Api>(contract: Contract<Api>): ServiceIdentifier<Client<Api>> {
  let token = tokens.get(contract.name);
  if (!token) {
    token = Symbol.for(`hostmesh:client:${contract.name}`);
    tokens.set(contract.name, token);
  }
  return token;
}
