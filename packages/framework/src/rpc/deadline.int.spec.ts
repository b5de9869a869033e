import { join } from 'node:path';
import { CallTimeoutError } from '../core/errors/errors';
import { Mesh } from '../runtime/mesh';
import { sleep, spawnService, type SpawnedService } from '../testing/spawn-service';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { Back, Front } from './fixtures/chain.contract';

const FIXTURES = join(__dirname, 'fixtures');

describe('deadlines and cancellation across a chain of services (test → front over shm → back over uds)', () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: 'deadline' };
  const children: SpawnedService[] = [];
  let mesh: Mesh;

  beforeAll(async () => {
    for (const service of ['back', 'front']) {
      children.push(await spawnService(join(FIXTURES, `${service}.main.ts`), { env, ready: { service, runtimeDir: runtime.path, namespace: 'deadline' } }));
    }
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace: 'deadline', logLevel: 'silent' });
  }, 30_000);

  afterAll(async () => {
    await mesh?.close(0);
    for (const child of children) await child.kill();
    runtime.remove();
  });

  it("the caller's timeout reaches the back service: its signal fires, and nothing keeps running", async () => {
    const front = mesh.client(Front);
    const back = mesh.client(Back);
    const started = performance.now();
    await expect(front.$with({ timeoutMs: 50 }).relay(5_000)).rejects.toBeInstanceOf(CallTimeoutError);
    expect(performance.now() - started).toBeLessThan(1_000);

    let reports = await back.reports();
    for (let i = 0; i < 100 && reports.length === 0; i++) {
      await sleep(20);
      reports = await back.reports();
    }
    expect(reports).toHaveLength(1);
    const [report] = reports;
    // The back service inherited what was left of the 50 ms, not its own 10 s timeout.
    expect(report!.remainingAtStart).toBeGreaterThan(0);
    expect(report!.remainingAtStart).toBeLessThanOrEqual(50);
    // It stopped long before its 5 s of work: cancelled from the front, or by its own deadline.
    expect(report!.aborted).toBe(true);
    expect(report!.ranMs).toBeLessThan(1_000);
    expect(await back.running()).toBe(0);
    expect(await front.running()).toBe(0);
  });

  it('a call that finishes in time is not cut short by the inherited deadline', async () => {
    const front = mesh.client(Front);
    const back = mesh.client(Back);
    const before = (await back.reports()).length;
    await expect(front.$with({ timeoutMs: 2_000 }).relay(30)).resolves.toBe('worked 30 ms');
    const report = (await back.reports())[before]!;
    expect(report.aborted).toBe(false);
    expect(report.remainingAtStart).toBeGreaterThan(1_000);
    expect(report.remainingAtStart).toBeLessThanOrEqual(2_000);
  });

  it('cancelling the first call cancels the call it made', async () => {
    const front = mesh.client(Front);
    const back = mesh.client(Back);
    const before = (await back.reports()).length;
    const controller = new AbortController();
    const call = front.$with({ signal: controller.signal, timeoutMs: 10_000 }).relay(5_000);
    for (let i = 0; i < 200 && (await back.running()) === 0; i++) await sleep(5);
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: 'CALL_ABORTED' });
    let reports = await back.reports();
    for (let i = 0; i < 100 && reports.length === before; i++) {
      await sleep(20);
      reports = await back.reports();
    }
    expect(reports[before]).toMatchObject({ aborted: true });
    expect(reports[before]!.ranMs).toBeLessThan(1_000);
    expect(await back.running()).toBe(0);
  });
});
