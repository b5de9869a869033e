import { defineContract, type Mesh, ServiceUnavailableError } from '@hostmesh/framework';
import { readState } from '../supervisor/state-file';
import { nothingRunning, runtimeOf, targetNamespace, type TargetOptions } from './context';

/** What `call`, `emit` and the REPL share: calling an endpoint and publishing an event by name, from a shell. */

/** An event published by name that no service subscribes to: most often a typo. */
export class NoSubscriberError extends Error {
  override readonly name = 'NoSubscriberError';
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${what} is not JSON: ${(error as Error).message}`);
  }
}

/** An event's body: a JSON object, nothing else. */
export function eventPayload(value: unknown): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the event must be a JSON object');
  return value;
}

/** `pricing.quote` → service and endpoint. */
export function splitTarget(target: string): { service: string; endpoint: string } {
  const dot = target.lastIndexOf('.');
  if (dot <= 0 || dot === target.length - 1) throw new Error(`expected <service>.<endpoint>, got '${target}'`);
  return { service: target.slice(0, dot), endpoint: target.slice(dot + 1) };
}

/** One call through the typed client a service would use, over the mechanism the service announces. */
export async function callByName(mesh: Mesh, target: string, args: unknown[], options: TargetOptions & { timeoutMs?: number }): Promise<unknown> {
  const { service, endpoint } = splitTarget(target);
  await mustBeComing(mesh, service, options);
  const client = mesh.client(defineContract<Record<string, (...a: unknown[]) => Promise<unknown>>>(service)).$with({ timeoutMs: options.timeoutMs ?? 5000 });
  return (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[endpoint]!(...args);
}

/** Publishes `payload` (a JSON object) as the event `event`; resolves with how many subscribers it reached, at least one. */
export async function publishByName(
  mesh: Mesh,
  event: string,
  payload: unknown,
  options: TargetOptions & { priority?: number; timeoutMs?: number },
): Promise<number> {
  const delivered = await mesh.events.publishNamed(event, eventPayload(payload), { priority: options.priority, timeoutMs: options.timeoutMs });
  if (delivered > 0) return delivered;
  const known = new Set<string>();
  for (const descriptor of await mesh.registry.listAll()) for (const subscription of descriptor.subscriptions) known.add(subscription.event);
  for (const record of await mesh.registry.listSubscriptions()) for (const name of record.events) known.add(name);
  throw new NoSubscriberError(
    `no service subscribes to '${event}' in namespace '${targetNamespace(options)}'; events with subscribers: ${[...known].sort().join(', ') || 'none'}`,
  );
}

/**
 * A call to a service that is not running and that no supervisor is (re)starting would only
 * wait out its timeout: fail at once, saying what does run and how to start it.
 */
export async function mustBeComing(mesh: Mesh, service: string, options: TargetOptions): Promise<void> {
  if ((await mesh.registry.lookup(service)).length > 0) return;
  const state = readState(runtimeOf(options));
  // A running supervisor that lists it and has not given up on it will (re)start it: wait, as a
  // client would (it may be starting, restarting after a crash, or between a group's drain and restart).
  if (state && state.state !== 'stopping' && state.instances.some((i) => i.service === service && i.state !== 'failed')) return;
  const namespace = targetNamespace(options);
  const running = [...new Set((await mesh.registry.listAll()).map((d) => d.service))].sort();
  if (!state && running.length === 0) {
    throw new ServiceUnavailableError(`no instance of '${service}' runs: ${nothingRunning(namespace, options)}; start it with \`hostmesh up\``);
  }
  const why = running.length > 0 ? `services running there: ${running.join(', ')}` : 'its deployment has no service running';
  throw new ServiceUnavailableError(`no instance of '${service}' runs in namespace '${namespace}' (${why})`);
}
