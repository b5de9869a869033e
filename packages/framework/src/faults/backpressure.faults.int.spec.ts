import { Mesh } from '../runtime/mesh';
import { spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { Sink, type Received } from './fixtures/faults.contract';
import { exitWithin, faultFixture, tearDown, until } from './faults.testing';

/**
 * Fault: a fast producer and a slow consumer. The producer (a child process) publishes
 * events back to back; the subscriber (another child) spends CPU on each, over a small shm
 * ring and over a POSIX message queue (depth 10 on a default kernel). 'wait' events are
 * held back and all arrive; 'reject' events are refused with QueueFullError while the
 * ring or queue is full, and exactly the accepted ones arrive. The producer's memory stays
 * bounded either way: backpressure reaches it instead of a buffer growing.
 */
const COUNT = 3000;
/** Small enough for one queue message (2 KiB in the tests, see jest.setup.js) and one ring message. */
const PAD = 1500;
/** Far below COUNT × 2 KiB (6 MiB): what a producer that buffered everything would hold. */
const MEMORY_BOUND = 3 * 1024 * 1024;

interface PublisherResult {
  accepted: number[];
  errors: Record<string, number>;
  peakBytes: number;
  publishMs: number;
}

describe.each(['shm', 'mqueue'] as const)('fault: fast producer, slow consumer over %s', (mechanism) => {
  const runtime = tempRuntimeDir('hm-bp-');
  const namespace = `bp-${mechanism}-${process.pid}`;
  const env = {
    HOSTMESH_RUNTIME_DIR: runtime.path,
    HOSTMESH_NAMESPACE: namespace,
    HOSTMESH_BINDINGS: JSON.stringify({ '*': mechanism }),
    HOSTMESH_SHM_RING_BYTES: '16384',
    FAULTS_EVENT_COST_US: '250',
  };
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  let sink: SpawnedService;

  beforeAll(async () => {
    sink = await spawnService(faultFixture('sink'), { env, ready: { service: 'faults-sink', runtimeDir: runtime.path, namespace } });
  }, 30_000);

  afterAll(async () => {
    await mesh.registry.purgeSubscriptions();
    await tearDown({ mesh, processes: [sink], namespace, runtime });
  }, 30_000);

  async function publish(policy: 'wait' | 'reject'): Promise<PublisherResult> {
    const producer = await spawnService(faultFixture('publisher'), { env, args: [policy, String(COUNT), String(PAD), '10000'] });
    const exit = await exitWithin(producer, 40_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const line = /RESULT (.*)/.exec(producer.output)?.[1];
    if (!line) throw new Error(`the producer printed no result:\n${producer.output}`);
    return JSON.parse(line) as PublisherResult;
  }

  async function delivered(policy: 'wait' | 'reject', expected: number): Promise<Received> {
    const client = mesh.client(Sink);
    let got: Received = { wait: [], reject: [], ids: [] };
    await until(
      async () => {
        got = await client.received();
        return got[policy].filter((seq) => seq >= 0).length >= expected;
      },
      20_000,
      `${expected} ${policy} events delivered (got ${got[policy].length})`,
    ).catch(() => undefined);
    return got;
  }

  it("'wait': holds the producer back, delivers every event once and in order, producer memory bounded", async () => {
    const result = await publish('wait');
    expect(result.errors).toEqual({});
    expect(result.accepted).toHaveLength(COUNT);
    expect(result.peakBytes).toBeLessThan(MEMORY_BOUND);
    const got = await delivered('wait', COUNT);
    expect(got.wait.filter((seq) => seq >= 0)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    // Every delivery carries an id, unique per event: what a subscriber de-duplicates by.
    expect(new Set(got.ids).size).toBe(got.ids.length);
    expect(sink.running).toBe(true);
  }, 60_000);

  it("'reject': refuses with a retryable QueueFullError while full, delivers exactly the accepted events", async () => {
    const result = await publish('reject');
    const rejected = COUNT - result.accepted.length;
    expect(Object.keys(result.errors)).toEqual(['QueueFullError:QUEUE_FULL:true']);
    expect(rejected).toBeGreaterThan(0);
    expect(result.errors['QueueFullError:QUEUE_FULL:true']).toBe(rejected);
    expect(result.peakBytes).toBeLessThan(MEMORY_BOUND);
    const got = await delivered('reject', result.accepted.length);
    // No loss of an accepted event, and no refused event delivered after all.
    expect(got.reject.filter((seq) => seq >= 0)).toEqual(result.accepted);
    expect(new Set(got.ids).size).toBe(got.ids.length);
  }, 60_000);
});
