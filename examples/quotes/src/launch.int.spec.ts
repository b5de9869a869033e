import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { spawnService } from '@hostmesh/framework/testing';
import { tempRuntimeDir } from '@hostmesh/framework/testing';

const run = promisify(execFile);

describe('the quotes example', () => {
  const runtime = tempRuntimeDir();
  afterAll(() => runtime.remove());

  it('runs pricing and monitor in two processes, shows calls and events, and stops cleanly on Ctrl-C', async () => {
    const launcher = await spawnService(join(__dirname, 'launch.ts'), { env: { HOSTMESH_RUNTIME_DIR: runtime.path } });
    try {
      await launcher.waitForOutput('pricing is ready', 15_000);
      await launcher.waitForOutput('monitor is ready', 15_000);
      await launcher.waitForOutput(/monitor +\| \[monitor@0\] info: call +pricing\.quote ACME x10 = \d+\.\d\d/, 10_000);
      await launcher.waitForOutput(/monitor +\| \[monitor@0\] info: event +price\.changed [A-Z]+ → \d+\.\d\d/, 10_000);
      expect(launcher.output).toContain('pricing.quote over shm');
      expect(launcher.output).toContain('pricing.symbols over fifo');
      expect(launcher.output).toContain('price.changed events over mqueue');
      await launcher.waitForOutput(/call +pricing\.symbols = ACME, GLOBEX, INITECH/, 10_000);
      // The README's shell example, exactly as documented.
      const { stdout } = await run('sh', [join(__dirname, '..', 'scripts', 'quote.sh'), 'GLOBEX', '4'], {
        env: { ...process.env, HOSTMESH_RUNTIME_DIR: runtime.path },
        timeout: 10_000,
      });
      expect(JSON.parse(stdout)).toMatchObject({ result: { symbol: 'GLOBEX', quantity: 4 } });
      launcher.child.kill('SIGINT');
      expect(await launcher.exited).toEqual({ code: 0, signal: null });
    } finally {
      await launcher.kill();
    }
    expect(launcher.output).toMatch(/monitor +\| \[monitor@0\] info: stopped/);
    expect(launcher.output).toMatch(/pricing +\| \[pricing@0\] info: stopped/);
    expect(launcher.output).toContain('all services stopped');
    expect(launcher.output).toMatch(/audit log .*: \d+ lines, written by both services/);
    const namespace = join(runtime.path, 'quotes-example');
    expect(existsSync(namespace)).toBe(true);
    expect(readdirSync(join(namespace, 'registry'))).toEqual([]);
    expect(readdirSync(join(namespace, 'sock'))).toEqual([]);
  }, 40_000);
});
