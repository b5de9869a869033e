import { CallTimeoutError } from '../core/errors/errors';
import { HostmeshError } from '../core/errors/hostmesh-error';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { recordingLogger, tearDown, settled, startConformance } from './faults.testing';

/**
 * Fault: the server is SIGSTOPped (alive, connected, silent). Calls time out with a typed
 * CallTimeoutError within their timeout plus a margin; after SIGCONT the server answers the
 * requests it had not read (late replies), the client drops them without an error or a
 * warning and without confusing them with new calls, and new calls succeed on the same
 * connection. A call whose timeout outlasts the stop simply completes.
 */
const TIMED_OUT = 20;
const SHORT_MS = 300;
const MARGIN_MS = 1000;

describe.each(['uds', 'tcp', 'shm', 'fifo'] as const)('fault: server SIGSTOPped then SIGCONTinued over %s', (kind) => {
  const runtime = tempRuntimeDir('hm-ps-');
  const namespace = `ps-${kind}-${process.pid}`;
  const { logger, lines } = recordingLogger();
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logger });
  const client = mesh.client(Conformance);
  let server: SpawnedService;

  beforeAll(async () => {
    server = await startConformance(kind, runtime.path, namespace);
  }, 30_000);

  afterAll(() => tearDown({ mesh, processes: [server], namespace, runtime }), 30_000);

  it('times calls out while it is stopped, then serves new calls and drops the late replies quietly', async () => {
    await expect(client.add(1, 2)).resolves.toBe(3);
    const before = await client.calls();
    server.child.kill('SIGSTOP');
    try {
      const patient = client.$with({ timeoutMs: 20_000 }).echo({ patient: true });
      const outcomes = await Promise.all(Array.from({ length: TIMED_OUT }, (_, i) => settled(client.$with({ timeoutMs: SHORT_MS }).echo({ late: i }))));
      for (const outcome of outcomes) {
        expect(outcome.error).toBeInstanceOf(CallTimeoutError);
        expect((outcome.error as HostmeshError).retryable).toBe(true);
        expect(outcome.ms).toBeGreaterThanOrEqual(SHORT_MS - 20);
        expect(outcome.ms).toBeLessThan(SHORT_MS + MARGIN_MS);
      }
      expect(server.running).toBe(true);
      server.child.kill('SIGCONT');

      // New calls race the late replies on the same connection: each gets its own answer.
      const fresh = Array.from({ length: 50 }, (_, i) => ({ fresh: i }));
      await expect(Promise.all(fresh.map((value) => client.echo(value)))).resolves.toEqual(fresh);
      await expect(patient).resolves.toEqual({ patient: true });
      // The server did run the timed-out calls after SIGCONT: their replies came late and were dropped.
      expect(await client.calls()).toBeGreaterThanOrEqual(before + TIMED_OUT + fresh.length + 1);
      expect(lines.filter((line) => /\b(warn|error):/.test(line))).toEqual([]);
    } finally {
      server.child.kill('SIGCONT');
    }
  }, 30_000);
});
