import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { SupervisorState } from './state';

/** The shm listener's pool counters (`transports[].pool` of a service's health), by the label they get. */
const POOL_WAYS = [
  ['copied', 'copied'],
  ['lent', 'lent'],
  ['answered_in_place', 'answeredInPlace'],
  ['ring', 'throughRing'],
] as const;

/**
 * Prometheus metrics of the whole deployment, from the health each service reports on its
 * control pipe, served on 127.0.0.1 only. Totals are counters (a service's restart resets
 * its own, which Prometheus reads as a counter reset); the rest are gauges.
 */
export class MetricsEndpoint {
  private constructor(private readonly server: Server) {}

  static async listen(port: number, state: () => SupervisorState): Promise<MetricsEndpoint> {
    const registry = new Registry();
    const labels = ['service', 'instance', 'endpoint', 'mechanism'] as const;
    const calls = new Counter({ name: 'hostmesh_calls_total', help: 'Calls handled per endpoint', labelNames: labels, registers: [registry] });
    const errors = new Counter({ name: 'hostmesh_call_errors_total', help: 'Calls that failed', labelNames: labels, registers: [registry] });
    const p50 = new Gauge({ name: 'hostmesh_latency_p50_microseconds', help: 'Median handler latency', labelNames: labels, registers: [registry] });
    const p99 = new Gauge({ name: 'hostmesh_latency_p99_microseconds', help: '99th percentile handler latency', labelNames: labels, registers: [registry] });
    const inFlight = new Gauge({ name: 'hostmesh_in_flight', help: 'Calls in flight', labelNames: ['service', 'instance'], registers: [registry] });
    const restarts = new Counter({
      name: 'hostmesh_restarts_total',
      help: 'Restarts by the supervisor',
      labelNames: ['service', 'instance'],
      registers: [registry],
    });
    const queued = new Gauge({
      name: 'hostmesh_queue_messages',
      help: 'Messages waiting in an event queue',
      labelNames: ['service', 'instance', 'queue'],
      registers: [registry],
    });
    const pooled = new Counter({
      name: 'hostmesh_shm_pool_frames_total',
      help: "Large frames a service sent over shm: copied into its pool, lent ($alloc) without a copy, answered in place in the caller's own bytes, or sent through the ring (no room in the pool)",
      labelNames: ['service', 'instance', 'way'],
      registers: [registry],
    });
    const frameBlocks = new Gauge({
      name: 'hostmesh_shm_frame_block_bytes',
      help: 'Memory a service keeps for large shm frames that came through the ring (at most 64 MiB and a slot per process)',
      labelNames: ['service', 'instance'],
      registers: [registry],
    });
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      registry.resetMetrics();
      for (const instance of state().instances) {
        const who = { service: instance.service, instance: String(instance.instance) };
        // Totals read from the services: after resetMetrics(), inc() by the total sets it.
        restarts.inc(who, instance.restarts);
        const health = instance.health;
        if (!health) continue;
        inFlight.set(who, health.inFlight);
        for (const endpoint of [...health.endpoints, ...health.events]) {
          const route = { ...who, endpoint: endpoint.name, mechanism: endpoint.mechanism };
          calls.inc(route, endpoint.calls);
          errors.inc(route, endpoint.errors);
          p50.set(route, endpoint.p50Us);
          p99.set(route, endpoint.p99Us);
        }
        for (const transport of health.transports) {
          if (transport.kind === 'mqueue' && typeof transport.messages === 'number') queued.set({ ...who, queue: String(transport.queue) }, transport.messages);
          const pool = transport.kind === 'shm' ? (transport.pool as Record<string, unknown> | undefined) : undefined;
          for (const [way, key] of POOL_WAYS) if (typeof pool?.[key] === 'number') pooled.inc({ ...who, way }, pool[key]);
          if (transport.kind === 'shm' && typeof transport.frameBlockBytes === 'number') frameBlocks.set(who, transport.frameBlockBytes);
        }
      }
      void registry.metrics().then((text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new MetricsEndpoint(server);
  }

  /** The port it listens on (the one asked for, or the one the kernel picked for 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
