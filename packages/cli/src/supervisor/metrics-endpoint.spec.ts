import type { DiagnosticSnapshot } from '@hostmesh/framework/internal';
import { MetricsEndpoint } from './metrics-endpoint';
import type { SupervisorState } from './state';

// The endpoint itself, over real HTTP on 127.0.0.1, fed a supervisor state as the services' health makes it.
describe('MetricsEndpoint', () => {
  const health = (calls: number): DiagnosticSnapshot => ({
    service: 'pricing',
    instance: '0',
    pid: 42,
    at: new Date().toISOString(),
    uptimeSeconds: 3,
    state: 'running',
    inFlight: 2,
    connections: 1,
    listeners: {},
    endpoints: [{ name: 'quote', mechanism: 'shm', calls, errors: 1, p50Us: 12, p99Us: 80, maxUs: 90 }],
    events: [],
    transports: [
      { kind: 'mqueue', queue: '/hm.ev.pricing', messages: 5 },
      {
        kind: 'shm',
        address: { kind: 'shm', path: '/run/pricing.shm' },
        pool: { copied: 4, lent: 0, answeredInPlace: calls * 2, throughRing: 3 },
        frameBlockBytes: 2097152,
      },
    ],
    memory: { rssBytes: 1, heapUsedBytes: 1 },
  });
  let calls = 10;
  const state = (): SupervisorState => ({
    schema: 1,
    pid: 1,
    startTime: 1,
    namespace: 'metrics',
    manifest: 'hostmesh.json',
    startedAt: new Date().toISOString(),
    state: 'running',
    instances: [
      {
        service: 'pricing',
        instance: 0,
        pid: 42,
        state: 'ready',
        restarts: 3,
        startedAt: undefined,
        lastExit: undefined,
        callsPerSecond: 0,
        health: health(calls),
      },
    ],
  });

  it('serves totals as counters and the rest as gauges, on 127.0.0.1, with the values the services reported', async () => {
    const endpoint = await MetricsEndpoint.listen(0, state);
    try {
      const scrape = async () => (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text();
      const text = await scrape();
      expect(text).toContain('# TYPE hostmesh_calls_total counter');
      expect(text).toContain('# TYPE hostmesh_call_errors_total counter');
      expect(text).toContain('# TYPE hostmesh_restarts_total counter');
      expect(text).toContain('# TYPE hostmesh_latency_p99_microseconds gauge');
      expect(text).toContain('hostmesh_calls_total{service="pricing",instance="0",endpoint="quote",mechanism="shm"} 10');
      expect(text).toContain('hostmesh_restarts_total{service="pricing",instance="0"} 3');
      expect(text).toContain('hostmesh_queue_messages{service="pricing",instance="0",queue="/hm.ev.pricing"} 5');
      expect(text).toContain('# TYPE hostmesh_shm_pool_frames_total counter');
      expect(text).toContain('hostmesh_shm_pool_frames_total{service="pricing",instance="0",way="copied"} 4');
      expect(text).toContain('hostmesh_shm_pool_frames_total{service="pricing",instance="0",way="answered_in_place"} 20');
      expect(text).toContain('hostmesh_shm_pool_frames_total{service="pricing",instance="0",way="ring"} 3');
      expect(text).toContain('hostmesh_shm_frame_block_bytes{service="pricing",instance="0"} 2097152');
      // Each scrape shows the services' current totals, not a sum over scrapes.
      calls = 25;
      const later = await scrape();
      expect(later).toContain('hostmesh_calls_total{service="pricing",instance="0",endpoint="quote",mechanism="shm"} 25');
      expect(later).toContain('hostmesh_shm_pool_frames_total{service="pricing",instance="0",way="answered_in_place"} 50');
      expect((await fetch(`http://127.0.0.1:${endpoint.port}/other`)).status).toBe(404);
    } finally {
      await endpoint.close();
    }
  });
});
