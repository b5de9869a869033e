import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sleep, spawnService, tempRuntimeDir, typescriptExecArgv, type SpawnedService } from '@hostmesh/framework/testing';
import { CLI, fixture, hostmesh, hostmeshUp, writeManifest } from '../__fixtures__/cli';

const run = promisify(execFile);

describe('hostmesh call on an endpoint that streams', () => {
  const runtime = tempRuntimeDir();
  const env = { HOSTMESH_RUNTIME_DIR: runtime.path, NO_COLOR: '1' };
  let supervisor: SpawnedService;

  /** `hostmesh call` to its end, its stdout and stderr apart: the items, then the error. */
  const call = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [...typescriptExecArgv(), CLI, 'call', ...args, '-n', 'tickers'], {
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    const manifest = writeManifest(runtime.path, 'tickers.json', { namespace: 'tickers', services: { ticker: { entry: fixture('ticker') } } });
    supervisor = await hostmeshUp(manifest, env);
    await supervisor.waitForOutput('ticker is ready', 20_000);
  }, 30_000);
  afterAll(async () => {
    await supervisor.stop('SIGINT');
    runtime.remove();
  }, 30_000);

  it('prints each item as a JSON line, Buffers as a Buffer result prints, and exits 0 at the end', async () => {
    expect(await call('ticker.count', '3')).toEqual({
      code: 0,
      stdout: '{"n":0}\n{"n":1}\n{"n":2}\n{"type":"Buffer","data":[104,105]}\n',
      stderr: '',
    });
    // A single value prints as before.
    expect(await call('ticker.stopped')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
  }, 30_000);

  it('prints the items sent before an error, then the error, and exits 1', async () => {
    expect(await call('ticker.failAfter', '2')).toEqual({ code: 1, stdout: '0\n1\n', stderr: expect.stringContaining('ran dry after 2 items') });
  }, 30_000);

  it('ends a stream at --timeout-ms, the deadline the service was sent, with CallTimeoutError', async () => {
    const timedOut = await call('ticker.ticks', '"deadline"', '--timeout-ms', '1000');
    expect(timedOut).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^CallTimeoutError \[CALL_TIMEOUT\]: the stream of ticker.ticks reached its deadline/),
    });
    expect(timedOut.stdout).toMatch(/^0\n1\n2\n/);
  }, 30_000);

  it('on Ctrl-C cancels the stream at the service and exits 130', async () => {
    const child = await spawnService(CLI, { args: ['call', 'ticker.ticks', '"sigint"', '-n', 'tickers'], env });
    await child.waitForOutput('0\n1\n2\n', 20_000);
    child.child.kill('SIGINT');
    expect(await child.exited).toEqual({ code: 130, signal: null });
    // The generator's return() ran: its finally block noted the tag.
    for (let i = 0; i < 50; i++) {
      const stopped = await hostmesh(['call', 'ticker.stopped', '--json', '-n', 'tickers'], env);
      if ((JSON.parse(stopped.output) as string[]).includes('sigint')) return;
      await sleep(100);
    }
    throw new Error('the service did not stop its generator');
  }, 30_000);
});
