import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RpcServer } from '../rpc/rpc-server';
import type { ServiceDescriptor } from '../discovery/descriptor';
import type { ReplicaView } from '../client/service-client';

export interface RouteSnapshot {
  name: string;
  mechanism: string;
  calls: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Latency distribution: [upper bound in µs, calls], power-of-two buckets, empty ones left out. */
  histogram?: Array<[number, number]>;
}

/** What SIGUSR2 writes, and what `hostmesh ps` reads: the state of one service instance. */
export interface DiagnosticSnapshot {
  service: string;
  instance: string;
  pid: number;
  at: string;
  uptimeSeconds: number;
  state: string;
  inFlight: number;
  connections: number;
  listeners: Record<string, unknown>;
  endpoints: RouteSnapshot[];
  events: RouteSnapshot[];
  transports: Array<Record<string, unknown>>;
  memory: { rssBytes: number; heapUsedBytes: number };
  /**
   * What this service's own clients see of the replicas they balance over (breaker, calls in
   * flight, ejections per instance; retries): `hostmesh ps` adds up those of every caller.
   * Only services with a replica seen; absent when there are none.
   */
  callers?: Record<string, ReplicaView>;
}

export function snapshot(
  descriptor: ServiceDescriptor,
  server: RpcServer,
  state: string,
  transports: Array<Record<string, unknown>>,
  replicas: Record<string, ReplicaView> = {},
): DiagnosticSnapshot {
  const mechanism = new Map(descriptor.routes.map((route) => [route.id, route.binding]));
  const eventMechanism = new Map(descriptor.subscriptions.map((s) => [s.id, s.binding]));
  const memory = process.memoryUsage();
  return {
    service: descriptor.service,
    instance: descriptor.instance,
    pid: process.pid,
    at: new Date().toISOString(),
    uptimeSeconds: Math.round((Date.now() - Date.parse(descriptor.startedAt)) / 1000),
    state,
    inFlight: server.inFlightCount,
    connections: server.connectionCount,
    listeners: descriptor.listeners,
    endpoints: [...server.routes.values()].map((route) => ({ name: route.name, mechanism: mechanism.get(route.id) ?? '?', ...route.metrics.summary() })),
    events: [...server.events.values()].map((route) => ({ name: route.name, mechanism: eventMechanism.get(route.id) ?? '?', ...route.metrics.summary() })),
    transports,
    memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    ...callersOf(replicas),
  };
}

/** Sent every second to the supervisor: services called over a single connection (no balancing) would only be noise. */
function callersOf(replicas: Record<string, ReplicaView>): { callers?: Record<string, ReplicaView> } {
  const seen = Object.entries(replicas).filter(([, view]) => view.replicas.length > 0);
  return seen.length === 0 ? {} : { callers: Object.fromEntries(seen) };
}

/** Writes the snapshot atomically (0600) and returns where. */
export function writeSnapshot(dir: string, value: DiagnosticSnapshot): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${value.service}@${value.instance}.json`);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(value, null, 2), { mode: 0o600 });
  renameSync(temp, path);
  return path;
}
