import { BootstrapError } from '../core/errors/errors';

const NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;

/**
 * A token shared by a service and its clients. `Api` exists only at compile time;
 * on the wire a method is addressed as `<contract name>.<method name>`.
 */
export interface Contract<Api> {
  readonly name: string;
  /** Compile-time only: carries the API type. */
  readonly __api?: Api;
}

const contracts = new Map<string, Contract<unknown>>();

export function defineContract<Api>(name: string): Contract<Api> {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new BootstrapError(`defineContract: invalid contract name ${JSON.stringify(name)}: use 1-63 letters, digits, '_' or '-', starting with a letter`);
  }
  // Two modules defining the same name share one token, so client and server agree.
  const existing = contracts.get(name);
  if (existing) return existing as Contract<Api>;
  const contract: Contract<Api> = Object.freeze({ name });
  contracts.set(name, contract as Contract<unknown>);
  return contract;
}

/** Contracts defined so far in this process; a container binds a client for each. */
export function definedContracts(): Iterable<Contract<unknown>> {
  return contracts.values();
}
