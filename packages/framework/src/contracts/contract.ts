import type { StandardSchemaV1 } from '@standard-schema/spec';
import { BootstrapError } from '../core/errors/errors';

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;

/**
 * Runtime schemas of one endpoint, in any Standard Schema library (zod, valibot, arktype…):
 * one per argument, and optionally the result. The service checks arguments before its
 * handler runs, and the result before it leaves.
 */
export interface EndpointSchemas {
  readonly args?: readonly StandardSchemaV1[];
  /** The result; for a streaming endpoint, each item of the stream. */
  readonly result?: StandardSchemaV1;
  /**
   * The endpoint returns an async iterable (a result stream): callers get it at once from the
   * call, `for await (const item of client.method())`, rather than from a promise.
   */
  readonly stream?: boolean;
  /**
   * The index of an argument the caller streams (an AsyncIterable); its schema in `args` is
   * its items', each checked as the handler reads it.
   */
  readonly streamArgument?: number;
  /**
   * How a call picks among the service's replicas: `'least-in-flight'` (the default),
   * `'round-robin'`, or `{ key }`: calls whose arguments give the same key go to the same
   * replica while the set of replicas is stable (sharded state); a call whose key is
   * undefined is balanced by load.
   */
  readonly balance?: 'least-in-flight' | 'round-robin' | { readonly key: (...args: never[]) => string | number | undefined };
  /**
   * What a caller gets when the call failed after its retries, instead of the error: called
   * with the error and the call's arguments (it may rethrow). Runs in the caller's process.
   */
  readonly fallback?: (error: Error, ...args: never[]) => unknown;
}

/** Declarations for a contract given as an interface: which of its endpoints stream. */
export type EndpointDeclarations<Api> = { readonly [K in keyof Api]?: Pick<EndpointSchemas, 'stream' | 'balance' | 'fallback'> };

/** An endpoint's schemas, by endpoint name. */
export type ContractSchemas = Readonly<Record<string, EndpointSchemas>>;

/**
 * A token shared by a service and its clients. `Api` exists only at compile time;
 * on the wire a method is addressed as `<contract name>.<method name>`.
 */
export interface Contract<Api> {
  readonly name: string;
  /** The endpoints' runtime schemas, when the contract was defined with them. */
  readonly schemas?: ContractSchemas;
  /** Compile-time only: carries the API type. */
  readonly __api?: Api;
}

type Input<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferInput<S> : never;
type Output<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;
/** The arguments as callers send them; the streamed one (index `I`) as an async iterable of its schema's items. */
type Arguments<A, I> = { -readonly [K in keyof A]: K extends `${I & number}` ? AsyncIterable<Input<A[K]>> : Input<A[K]> };

/**
 * The API a contract's schemas describe: the TypeScript types come from the schemas. Arguments
 * are what callers send (the schemas' input types); the handler receives what the schemas
 * output, which is the same type unless a schema transforms or fills in defaults. An endpoint
 * without `args` takes none.
 */
export type ApiOf<S extends ContractSchemas> = {
  [K in keyof S]: (
    ...args: S[K]['args'] extends readonly StandardSchemaV1[]
      ? Arguments<S[K]['args'], S[K] extends { readonly streamArgument: infer I extends number } ? I : never>
      : []
  ) => S[K]['stream'] extends true
    ? AsyncIterable<S[K]['result'] extends StandardSchemaV1 ? Output<S[K]['result']> : unknown>
    : S[K]['result'] extends StandardSchemaV1
      ? Output<S[K]['result']> | Promise<Output<S[K]['result']>>
      : unknown;
};

/** The API type of a contract, for `implements` and `Client<…>`. */
export type ContractApi<C> = C extends Contract<infer Api> ? Api : never;

const contracts = new Map<string, Contract<unknown>>();

/**
 * A contract by name, its API given as a TypeScript interface: `defineContract<PricingApi>('pricing')`;
 * or by its endpoints' schemas, its API inferred from them:
 * `defineContract('pricing', { quote: { args: [QuoteRequest], result: Quote } })`.
 */
export function defineContract<Api>(name: string): Contract<Api>;
export function defineContract<const S extends ContractSchemas>(name: string, schemas: S): Contract<ApiOf<S>>;
/** An interface's contract that says which endpoints stream: `defineContract<PricingApi>('pricing', { ticks: { stream: true } })`. */
export function defineContract<Api>(name: string, endpoints: EndpointDeclarations<Api>): Contract<Api>;
export function defineContract(name: string, declared?: object): Contract<unknown> {
  const schemas = declared as ContractSchemas | undefined;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BootstrapError(`defineContract: invalid contract name ${JSON.stringify(name)}: use 1-63 letters, digits, '_' or '-', starting with a letter`);
  }
  if (schemas !== undefined) checkSchemas(name, schemas);
  // Two modules defining the same name share one token, so client and server agree.
  const existing = contracts.get(name);
  if (existing) {
    if (schemas !== undefined && existing.schemas === undefined) {
      // The first definition had no schemas (a client's interface-only view): this one brings them.
      const upgraded: Contract<unknown> = Object.freeze({ name, schemas });
      contracts.set(name, upgraded);
      return upgraded;
    }
    return existing;
  }
  const contract: Contract<unknown> = Object.freeze(schemas === undefined ? { name } : { name, schemas });
  contracts.set(name, contract);
  return contract;
}

function checkSchemas(name: string, schemas: ContractSchemas): void {
  for (const [endpoint, entry] of Object.entries(schemas)) {
    const where = `defineContract('${name}'): schemas of '${endpoint}'`;
    if (typeof entry !== 'object' || entry === null) throw new BootstrapError(`${where} must be an object { args?, result?, stream? }`);
    if (entry.args !== undefined && (!Array.isArray(entry.args) || !entry.args.every(isStandardSchema))) {
      throw new BootstrapError(`${where}: args must be an array of Standard Schemas (zod, valibot, arktype…), one per argument`);
    }
    if (entry.result !== undefined && !isStandardSchema(entry.result)) {
      throw new BootstrapError(`${where}: result must be a Standard Schema (zod, valibot, arktype…)`);
    }
    if (entry.stream !== undefined && typeof entry.stream !== 'boolean') throw new BootstrapError(`${where}: stream must be true or false`);
    const balance = entry.balance;
    if (balance !== undefined && balance !== 'least-in-flight' && balance !== 'round-robin' && typeof (balance as { key?: unknown }).key !== 'function') {
      throw new BootstrapError(`${where}: balance must be 'least-in-flight', 'round-robin' or { key: (...args) => string }`);
    }
    if (entry.fallback !== undefined && typeof entry.fallback !== 'function')
      throw new BootstrapError(`${where}: fallback must be a function (error, ...args)`);
    const index = entry.streamArgument;
    if (index !== undefined && (!Number.isInteger(index) || index < 0 || index >= (entry.args?.length ?? 0))) {
      throw new BootstrapError(`${where}: streamArgument must be the index of one of its args`);
    }
  }
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  return typeof standard === 'object' && standard !== null && standard.version === 1 && typeof standard.validate === 'function';
}

/** The endpoints of `contract` declared to stream their results. */
export function streamingEndpoints(contract: Contract<unknown>): ReadonlySet<string> {
  const names = new Set<string>();
  for (const [endpoint, entry] of Object.entries(contract.schemas ?? {})) if (entry.stream === true) names.add(endpoint);
  return names;
}

/** Contracts defined so far in this process; a container binds a client for each. */
export function definedContracts(): Iterable<Contract<unknown>> {
  return contracts.values();
}
