import type { EndpointPolicy } from '../config/endpoint-policies';
import { BootstrapError } from '../core/errors/errors';
import type { ServiceDefinition } from '../metadata/explorer';

/** The deployment's policies (manifest `endpoints`, HOSTMESH_ENDPOINTS) over the decorators'; a policy for no endpoint is a mistake worth stopping for. */
export function applyEndpointPolicies(explored: ServiceDefinition, policies: Readonly<Record<string, EndpointPolicy>>): ServiceDefinition {
  if (Object.keys(policies).length === 0) return explored;
  // Copies: the explored definition is the class's, shared by every host of it in this process.
  const definition = { ...explored, endpoints: explored.endpoints.map((endpoint) => ({ ...endpoint })) };
  for (const [name, policy] of Object.entries(policies)) {
    const endpoint = definition.endpoints.find((e) => e.name === name || e.route === name);
    if (endpoint === undefined) {
      const known = definition.endpoints.map((e) => e.name).join(', ') || 'none';
      throw new BootstrapError(`endpoints.${name}: '${definition.name}' has no endpoint '${name}' (its endpoints: ${known})`);
    }
    if (policy.idempotent !== undefined) endpoint.idempotent = policy.idempotent;
    if (policy.timeoutMs !== undefined) endpoint.timeoutMs = policy.timeoutMs;
    if (policy.attemptTimeoutMs !== undefined) endpoint.attemptTimeoutMs = policy.attemptTimeoutMs;
    if (policy.bulkhead !== undefined) endpoint.bulkhead = { limit: policy.bulkhead.limit, queue: policy.bulkhead.queue ?? 0 };
    if (policy.balance !== undefined) endpoint.balance = policy.balance;
  }
  return definition;
}
