import type { Mesh } from '@hostmesh/framework';
import { processState } from '@hostmesh/native';
import type { InstanceStatus } from '../supervisor/state';
import { readState } from '../supervisor/state-file';
import { statusTable } from '../output/status-table';
import { callersView, seenByCallers, type SeenByCallers } from '../output/replica-health';
import { meshOf, nothingRunning, runtimeOf, type TargetOptions } from './context';

/**
 * `hostmesh ps`: every service instance of the namespace with pid, state, uptime, restarts,
 * in-flight calls, calls/s, p50/p99 latency, queue depths and the mechanism of each binding.
 * Instances started outside a supervisor are listed from the registry.
 */
export async function ps(options: TargetOptions & { json?: boolean }): Promise<number> {
  const { namespace, supervisor, instances, retries } = await deploymentStatus(options);
  if (options.json) {
    process.stdout.write(JSON.stringify({ namespace, supervisor, instances, retries }, null, 2) + '\n');
    return 0;
  }
  if (instances.length === 0) {
    process.stdout.write(`${nothingRunning(namespace, options)}\n`);
    return 0;
  }
  process.stdout.write(`${statusTable(instances, process.stdout)}\n`);
  return 0;
}

/** What `ps` and the dashboard show: the supervisor's view of the namespace, and every instance it or the registry knows. */
export interface DeploymentStatus {
  namespace: string;
  supervisor: { pid: number; manifest: string; state: string } | null;
  /** `seenByCallers`: what the deployment's services see of it as callers, when any balances across its replicas. */
  instances: Array<InstanceStatus & { seenByCallers?: SeenByCallers }>;
  /** Retries the deployment's services made as callers, and those their retry budgets refused. */
  retries: { made: number; refused: number };
}

/** `mesh`: one to use (the dashboard keeps one); else one is opened and closed for this call. */
export async function deploymentStatus(options: TargetOptions, shared?: Mesh): Promise<DeploymentStatus> {
  const mesh = shared ?? meshOf(options);
  try {
    return await statusFrom(options, mesh);
  } finally {
    if (!shared) await mesh.close(0);
  }
}

async function statusFrom(options: TargetOptions, mesh: Mesh): Promise<DeploymentStatus> {
  const dir = runtimeOf(options);
  const state = readState(dir);
  const instances: InstanceStatus[] = state ? [...state.instances] : [];
  // With NATS configured (HOSTMESH_NATS_SERVERS), also the services other hosts announce there.
  for (const descriptor of await mesh.registry.listAll()) {
    if (descriptor.remote) {
      const tcp = descriptor.listeners.tcp as { host?: string; port?: number; tls?: boolean } | undefined;
      const nats = descriptor.listeners.nats as { subject?: string } | undefined;
      const overNats = descriptor.remote.via === 'nats';
      instances.push({
        service: descriptor.service,
        instance: overNats ? instanceOf(descriptor.instance) : 0,
        pid: overNats ? descriptor.pid : undefined,
        state: 'remote',
        restarts: 0,
        startedAt: undefined,
        lastExit: undefined,
        callsPerSecond: 0,
        health: undefined,
        remote: overNats
          ? { host: descriptor.remote.host, address: String(nats?.subject), tls: false, via: 'nats' }
          : { host: descriptor.remote.host, address: `${tcp?.host}:${tcp?.port}`, tls: tcp?.tls === true },
      });
      continue;
    }
    // Listed by the supervisor already: by pid for a process of one service; by pid and name
    // for the services of a group or of worker threads, which share a pid.
    const worker = descriptor.threadId !== undefined;
    if (instances.some((i) => i.pid === descriptor.pid && (i.service === descriptor.service || (!worker && i.group === undefined)))) continue;
    instances.push({
      service: descriptor.service,
      instance: instanceOf(descriptor.instance),
      pid: descriptor.pid,
      state: 'ready',
      restarts: 0,
      startedAt: descriptor.startedAt,
      lastExit: undefined,
      callsPerSecond: 0,
      health: {
        service: descriptor.service,
        instance: descriptor.instance,
        pid: descriptor.pid,
        at: descriptor.startedAt,
        uptimeSeconds: 0,
        state: 'running',
        inFlight: 0,
        connections: 0,
        listeners: descriptor.listeners,
        endpoints: descriptor.routes.map((r) => ({
          name: `${descriptor.service}.${r.name}`,
          mechanism: r.binding,
          calls: 0,
          errors: 0,
          p50Us: 0,
          p99Us: 0,
          maxUs: 0,
        })),
        events: descriptor.subscriptions.map((s) => ({ name: s.event, mechanism: s.binding, calls: 0, errors: 0, p50Us: 0, p99Us: 0, maxUs: 0 })),
        transports: [],
        memory: { rssBytes: 0, heapUsedBytes: 0 },
      },
    });
  }
  for (const instance of instances) showPaused(instance);
  const callers = callersView(instances);
  return {
    namespace: dir.namespace,
    supervisor: state ? { pid: state.pid, manifest: state.manifest, state: state.state } : null,
    instances: instances.map((instance) => {
      const seen = seenByCallers(callers, instance);
      return seen ? { ...instance, seenByCallers: seen } : instance;
    }),
    retries: callers.retries,
  };
}

/** Replica numbers stay numbers (sorting, JSON); named instances (HOSTMESH_INSTANCE=blue) keep their name. */
function instanceOf(instance: string): number | string {
  return /^\d+$/.test(instance) ? Number(instance) : instance;
}

/** Services report health every second; a rate older than this is not current. */
const HEALTH_FRESH_MS = 2000;

/**
 * A process stopped by SIGSTOP (or a debugger) is alive but serves nothing: it shows as
 * `stopped`, and the calls/s of its last report fade with the report's age (to 0), rather
 * than standing still at what it did before it stopped.
 */
export function showPaused(instance: InstanceStatus, now = Date.now()): void {
  if (instance.pid === undefined || instance.state === 'remote') return;
  const state = processState(instance.pid);
  if (state === 'T' || state === 't') instance.state = 'stopped';
  const at = instance.health ? Date.parse(instance.health.at) : NaN;
  const age = now - at;
  if (instance.callsPerSecond > 0 && age > HEALTH_FRESH_MS)
    instance.callsPerSecond = age > 10 * HEALTH_FRESH_MS ? 0 : (instance.callsPerSecond * HEALTH_FRESH_MS) / age;
}
