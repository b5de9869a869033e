import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RpcServer } from '../rpc/rpc-server';
import type { ServiceDescriptor } from '../discovery/descriptor';

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
}

export function snapshot(descriptor: ServiceDescriptor, server: RpcServer, state: string, transports: Array<Record<string, unknown>>): DiagnosticSnapshot {
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
  };
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
