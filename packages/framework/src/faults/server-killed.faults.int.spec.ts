import { existsSync } from 'node:fs';
import { findStaleObjects } from '@hostmesh/native';
import { CallTimeoutError, ConnectionLostError, ServiceUnavailableError } from '../core/errors/errors';
import { HostmeshError } from '../core/errors/hostmesh-error';
import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { removeStaleIn, tearDown, settled, shmEntries, startConformance } from './faults.testing';

/**
 * Fault: the server is SIGKILLed while calls are in flight, on every request/response
 * mechanism. Each caller gets a typed, retryable error well within its timeout (never a
 * hang), a call made while the server is gone fails within its own timeout, the registry
 * forgets the dead instance, nothing of it is left once reclaimed, and a restarted server
 * is found again.
 */
const IN_FLIGHT = 5;
const CALL_TIMEOUT_MS = 4000;
/** How late past an event (a kill, a deadline) a failure may arrive: scheduling on 2 CPUs. */
const MARGIN_MS = 1000;

describe.each(['uds', 'tcp', 'shm', 'fifo'] as const)('fault: server SIGKILLed mid-call over %s', (kind) => {
  const runtime = tempRuntimeDir('hm-sk-');
  const namespace = `sk-${kind}-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
  const client = mesh.client(Conformance);
  let server: SpawnedService;

  beforeAll(async () => {
    server = await startConformance(kind, runtime.path, namespace);
  }, 30_000);

  afterAll(() => tearDown({ mesh, processes: [server], namespace, runtime }), 30_000);

  it('fails every call in flight with a retryable ConnectionLostError, at once, not at its timeout', async () => {
    await expect(client.add(1, 1)).resolves.toBe(2);
    const calls = Array.from({ length: IN_FLIGHT }, (_, i) => settled(client.$with({ timeoutMs: CALL_TIMEOUT_MS }).sleep(60_000, `doomed-${i}`)));
    await sleep(150); // sent and running in the server
    const killedAt = performance.now();
    await server.kill();
    const outcomes = await Promise.all(calls);
    for (const outcome of outcomes) {
      expect(outcome.error).toBeInstanceOf(ConnectionLostError);
      expect((outcome.error as HostmeshError).retryable).toBe(true);
      expect((outcome.error as Error).message).toMatch(/lost while conformance\.sleep was in flight/);
    }
    // Well before the call's own timeout: the loss is noticed, not waited out.
    expect(performance.now() - killedAt).toBeLessThan(MARGIN_MS);
  }, 20_000);

  it('fails a call made while the server is dead with ServiceUnavailableError within its timeout, and forgets the instance', async () => {
    const outcome = await settled(client.$with({ timeoutMs: 400 }).add(2, 2));
    expect(outcome.error).toBeInstanceOf(ServiceUnavailableError);
    expect((outcome.error as HostmeshError).retryable).toBe(true);
    expect(outcome.error).not.toBeInstanceOf(CallTimeoutError);
    expect(outcome.ms).toBeGreaterThanOrEqual(350);
    expect(outcome.ms).toBeLessThan(400 + MARGIN_MS);
    // A lookup reclaims the dead instance's descriptor and its socket file.
    const socket = `${runtime.path}/${namespace}/sock/conformance@0.sock`;
    expect(await mesh.registry.lookup('conformance')).toEqual([]);
    expect(existsSync(socket)).toBe(false);
  }, 20_000);

  it("leaves only kernel objects that the janitor recognises as the dead owner's, and removes", () => {
    // The dead server created the shm ring pair; nobody unlinked it, but its owner is dead.
    // (Another test's janitor may have removed them already: what is left must be stale.)
    const left = shmEntries(`.${namespace}.`).sort();
    const stale = findStaleObjects()
      .map((object) => object.path.slice('/dev/shm/'.length))
      .filter((name) => name.includes(`.${namespace}.`))
      .sort();
    expect(stale).toEqual(left);
    if (kind !== 'shm') expect(left).toEqual([]);
    removeStaleIn(namespace);
    expect(shmEntries(`.${namespace}.`)).toEqual([]);
  });

  it('reaches a restarted server again with the same client', async () => {
    const waiting = client.$with({ timeoutMs: 15_000 }).pid();
    server = await startConformance(kind, runtime.path, namespace);
    await expect(waiting).resolves.toBe(server.pid);
    await expect(client.add(20, 22)).resolves.toBe(42);
  }, 30_000);
});
