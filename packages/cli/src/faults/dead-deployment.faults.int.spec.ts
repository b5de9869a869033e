import { RuntimeDir } from '@hostmesh/framework';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listQueues } from '@hostmesh/native';
import { sleep, tempRuntimeDir, type SpawnedService } from '@hostmesh/framework/testing';
import { hostmesh, hostmeshUp, writeManifest } from '../__fixtures__/cli';

/**
 * Fault: the supervisor of the quotes example is SIGKILLed. Its services stop themselves,
 * but what outlives them by design stays in the kernel: the lock's semaphore and owner
 * record, the monitor's event queue, its subscription record.
 * `doctor` must list them as a dead deployment's leftovers and `down` must remove them.
 */
const QUOTES = join(__dirname, '..', '..', '..', '..', 'examples', 'quotes');

// Listing the queue namespace without /dev/mqueue mounted takes root (a private mount).
(process.getuid?.() === 0 ? describe : describe.skip)('fault: a deployment whose supervisor was SIGKILLed (as root)', () => {
  const runtime = tempRuntimeDir('hm-dd-');
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  const namespace = `dead-${process.pid}`;
  let up: SpawnedService | undefined;
  afterAll(async () => {
    await up?.stop('SIGKILL', 1000);
    await hostmesh(['down', '--purge', '-n', namespace], env, 15_000);
    runtime.remove();
  }, 30_000);

  let prefix = '';
  const objects = () => {
    const queues = listQueues();
    if (!queues.ok) throw new Error(queues.reason);
    return [
      ...readdirSync('/dev/shm')
        .filter((entry) => entry.startsWith(prefix) || entry.startsWith(`sem.${prefix}`))
        .map((entry) => `/dev/shm/${entry}`),
      ...queues.queues.filter((queue) => queue.name.startsWith(`/${prefix}`)).map((queue) => `mqueue ${queue.name}`),
    ].sort();
  };
  const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await sleep(50);
    }
  };

  it('leaves its lock, queue and subscription; doctor lists them, down removes them', async () => {
    const manifest = writeManifest(runtime.path, 'quotes.json', {
      namespace,
      gracePeriodMs: 1000,
      services: {
        pricing: { entry: join(QUOTES, 'dist', 'pricing.main.js') },
        monitor: { entry: join(QUOTES, 'dist', 'monitor.main.js'), dependsOn: ['pricing'] },
      },
    });
    up = await hostmeshUp(manifest, env);
    await up.waitForOutput('monitor is ready', 20_000);
    // The monitor quotes every second; the first quote takes the audit lock, which makes it.
    prefix = new RuntimeDir(runtime.path, namespace).objectPrefix(); // read before down renews the key
    await until(() => objects().some((path) => path.endsWith('.lock.audit')), 10_000, 'the audit lock made');
    up.child.kill('SIGKILL');
    await up.exited;
    const registry = join(runtime.path, namespace, 'registry');
    await until(() => readdirSync(registry).length === 0, 15_000, 'the services stopped themselves');

    const left = objects();
    // (The monitor's in-flight journal went with its clean stop: it saw its control pipe close.)
    for (const kind of ['lock.audit', 'lock.audit.owner', 'ev.monitor']) expect([kind, left.some((path) => path.endsWith(`.${kind}`))]).toEqual([kind, true]);
    expect(readdirSync(join(runtime.path, namespace, 'subscriptions'))).toEqual(['monitor.json']);

    const doctor = await hostmesh(['doctor', '--json', '-n', namespace], env);
    const report = JSON.parse(doctor.output) as {
      checks: Array<{ check: string; status: string; detail: string }>;
      objects: Record<string, Array<{ path: string }>>;
    };
    expect(report.checks.find((check) => check.check === `namespace ${namespace}`)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining(`left by a deployment that is gone: \`hostmesh down -n ${namespace}\` removes them`),
    });
    expect(report.objects[namespace]!.map((object) => object.path).sort()).toEqual(left);

    const down = await hostmesh(['down', '-n', namespace], env);
    expect(down.code).toBe(0);
    expect(down.output).toContain(`the supervisor of namespace '${namespace}' (pid ${up.pid}) had died: cleaned up after it`);
    expect(objects()).toEqual([]);
    expect(existsSync(join(runtime.path, namespace, 'objects.key'))).toBe(false); // the next run names its objects anew
    expect(readdirSync(join(runtime.path, namespace, 'subscriptions'))).toEqual([]);
    expect(existsSync(join(runtime.path, namespace, 'supervisor.json'))).toBe(false);
    const after = JSON.parse((await hostmesh(['doctor', '--json', '-n', namespace], env)).output) as { checks: Array<{ check: string; status: string }> };
    expect(after.checks.find((check) => check.check === `namespace ${namespace}`)).toMatchObject({ status: 'ok' });
  }, 60_000);
});
