import { Mesh } from '../runtime/mesh';
import { Conformance } from '../testing/fixtures/conformance.contract';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { faultFixture, tearDown, startConformance, until } from './faults.testing';

/**
 * Fault: a *client* is SIGSTOPped with calls in flight (alive, connected, reading nothing).
 * The service's replies to it back up (8 × 1 MiB: more than a socket buffer, a ring or a
 * pipe holds), but that connection alone waits: other clients are served throughout, and
 * after SIGCONT every one of the stopped client's calls gets its own reply, byte for byte,
 * and each of its lanes carries on.
 */
const SIZE = 1024 * 1024;
const IN_FLIGHT = 8;
const STOPPED_MS = 1500;
/** The flooder's call timeout: shorter than the wait for its lanes, so a lost reply fails it. */
const LANE_TIMEOUT_MS = 8000;

/** The flooder's last `replies N lanes a,b,…` line. */
function lanesOf(child: SpawnedService): number[] {
  const last = /lanes ([\d,]+)\n(?![\s\S]*lanes)/.exec(child.output)?.[1];
  return last ? last.split(',').map(Number) : [];
}

describe.each(['uds', 'tcp', 'shm', 'fifo'] as const)('fault: a client SIGSTOPped with calls in flight over %s', (kind) => {
  const runtime = tempRuntimeDir('hm-cs-');
  const namespace = `cs-${kind}-${process.pid}`;
  const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent', bindings: { '*': kind } });
  const client = mesh.client(Conformance);
  let server: SpawnedService;
  let flooder: SpawnedService | undefined;

  beforeAll(async () => {
    // Small rings over shm: the stopped client's replies fill its ring long before they are all written.
    server = await startConformance(kind, runtime.path, namespace, { HOSTMESH_SHM_RING_BYTES: '65536' });
  }, 30_000);

  afterAll(async () => {
    flooder?.child.kill('SIGCONT');
    await flooder?.kill();
    await tearDown({ mesh, processes: [server], namespace, runtime });
  }, 30_000);

  it('serves the other clients while its replies back up, and delivers each of them after SIGCONT', async () => {
    flooder = await spawnService(faultFixture('flooder'), {
      env: { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: namespace },
      args: [String(SIZE), String(IN_FLIGHT), kind, String(LANE_TIMEOUT_MS)],
    });
    await until(() => lanesOf(flooder!).length === IN_FLIGHT && lanesOf(flooder!).every((n) => n > 0), 20_000, 'every flooder lane getting replies');
    flooder.child.kill('SIGSTOP');
    let stopped: number[];
    try {
      await sleep(200); // its socket / ring / FIFO fills with replies it does not read
      stopped = lanesOf(flooder);
      const started = Date.now();
      // Another client, meanwhile: every call answered, none waiting behind the stopped one.
      for (let i = 0; Date.now() - started < STOPPED_MS; i++) {
        await expect(client.$with({ timeoutMs: 2000 }).add(i, 1)).resolves.toBe(i + 1);
        await expect(client.$with({ timeoutMs: 2000 }).echo(Buffer.alloc(SIZE, 9))).resolves.toEqual(Buffer.alloc(SIZE, 9));
      }
    } finally {
      flooder.child.kill('SIGCONT');
    }
    // Each lane had a call in flight when it stopped: each must get that reply (else it times
    // out and the flooder exits 1) and go on to the next ones.
    await until(() => !flooder!.running || lanesOf(flooder!).every((n, lane) => n >= stopped[lane]! + 2), LANE_TIMEOUT_MS + 7000, 'every lane resuming');
    expect({ running: flooder.running, failed: /flooder failed.*/.exec(flooder.output)?.[0] }).toEqual({ running: true, failed: undefined });
    await expect(client.add(2, 2)).resolves.toBe(4);
  }, 60_000);
});
