import type { ServiceIdentifier } from 'inversify';
import type { Contract } from './contract';

export interface CallOptions {
  /** Overrides the endpoint's default timeout, in milliseconds. */
  timeoutMs?: number;
  /** Aborting rejects the call with CallAbortedError and tells the service to cancel. */
  signal?: AbortSignal;
  /** Sent with the call as frame metadata; the handler reads them with `CallContext.header(name)`. */
  headers?: Readonly<Record<string, string | number>>;
}

type AnyFunction = (...args: never[]) => unknown;

/** The typed proxy a caller holds: every method of the contract returns a Promise. */
export type Client<Api> = {
  readonly [K in keyof Api as Api[K] extends AnyFunction ? K : never]: Api[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
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
