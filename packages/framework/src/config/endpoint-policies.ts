import type { OptionReader } from '../core/options';

/** An endpoint's resilience settings from the deployment (the manifest's `endpoints`), over its decorator's. */
export interface EndpointPolicy {
  idempotent?: boolean;
  timeoutMs?: number;
  attemptTimeoutMs?: number;
  bulkhead?: { limit: number; queue?: number };
  /** How callers spread calls over the replicas (a key strategy needs code: the contract's `balance: { key }`). */
  balance?: 'least-in-flight' | 'round-robin';
}

const BALANCES = ['least-in-flight', 'round-robin'];
const MAX_MS = 2 ** 31 - 1;

/** Checks the policies of HOSTMESH_ENDPOINTS or `MeshOptions.endpoints`; every bad value names its path. */
export function checkEndpointPolicies(value: unknown, read: OptionReader, where: string): Record<string, EndpointPolicy> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return read.fail(where, value, 'an object of endpoint name → policy');
  for (const [name, policy] of Object.entries(value as Record<string, unknown>)) {
    const at = `${where}.${name}`;
    if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
      read.fail(at, policy, 'an object { idempotent, timeoutMs, attemptTimeoutMs, bulkhead, balance }');
    const p = policy as Record<string, unknown>;
    for (const key of Object.keys(p)) {
      if (!['idempotent', 'timeoutMs', 'attemptTimeoutMs', 'bulkhead', 'balance'].includes(key)) read.fail(`${at}.${key}`, p[key], 'no such policy');
    }
    if (p.idempotent !== undefined && typeof p.idempotent !== 'boolean') read.fail(`${at}.idempotent`, p.idempotent, 'true or false');
    for (const key of ['timeoutMs', 'attemptTimeoutMs'] as const) if (p[key] !== undefined) read.positiveInteger(`${at}.${key}`, p[key] as number, MAX_MS);
    if (p.balance !== undefined && !BALANCES.includes(p.balance as string)) read.fail(`${at}.balance`, p.balance, `one of ${BALANCES.join(', ')}`);
    if (p.bulkhead !== undefined) {
      const b = p.bulkhead as Record<string, unknown> | null;
      if (typeof b !== 'object' || b === null) read.fail(`${at}.bulkhead`, b, 'an object { limit, queue }');
      read.positiveInteger(`${at}.bulkhead.limit`, b.limit as number, 1_000_000);
      if (b.queue !== undefined) read.nonNegative(`${at}.bulkhead.queue`, b.queue as number, 1_000_000);
    }
  }
  return value as Record<string, EndpointPolicy>;
}

/** HOSTMESH_ENDPOINTS: the policies as JSON. */
export function parseEndpointPoliciesEnv(raw: string | undefined, read: OptionReader): Record<string, EndpointPolicy> {
  if (!raw) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return read.fail('HOSTMESH_ENDPOINTS', raw, 'a JSON object such as {"quote":{"idempotent":true}}');
  }
  return checkEndpointPolicies(value, read, 'HOSTMESH_ENDPOINTS');
}
