import { spawn, spawnSync } from 'node:child_process';
import { SpawnedService, typescriptExecArgv } from '@hostmesh/framework/testing';
import { CLI, deployments, fixture, writeManifest } from '../__fixtures__/cli';

/** `hostmesh repl` as a user types into it: through a pseudo-terminal (script(1)), Tab and all. */
describe('hostmesh repl', () => {
  const { runtime, env, pids, up, ps } = deployments();
  let repl: SpawnedService | undefined;
  afterAll(async () => {
    await repl?.stop('SIGKILL', 1000);
  });

  it('completes an endpoint and calls it, completes an event, subscribes to it and prints it when it arrives', async () => {
    const manifest = writeManifest(runtime.path, 'repl.json', { namespace: 'repl', services: { echo: { entry: fixture('echo') } } });
    const supervisor = await up(manifest);
    await supervisor.waitForOutput('echo is ready', 20_000);
    const [echo] = (await ps('repl')).instances;
    pids.push(echo!.pid!);

    const command = [process.execPath, ...typescriptExecArgv(), CLI, 'repl', '-n', 'repl'].map((word) => `'${word}'`).join(' ');
    repl = new SpawnedService(spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
    const type = (keys: string) => repl!.child.stdin!.write(keys);
    await repl.waitForOutput('hostmesh:repl> ', 20_000);

    // Tab completes `echo.pi` to the endpoint the registry announces; the call answers with echo's pid.
    type('call echo.pi\t');
    await repl.waitForOutput('call echo.ping', 10_000);
    type('\r');
    await repl.waitForOutput(new RegExp(`\\r\\n${echo!.pid}\\r\\n`), 10_000);

    // The same for an event name; then what is published arrives and is printed.
    type('subscribe echo.n\t');
    await repl.waitForOutput('subscribe echo.note', 10_000);
    type('\r');
    await repl.waitForOutput('subscribed to echo.note', 15_000);
    type('emit echo.note {"text":"typed in the repl"}\r');
    await repl.waitForOutput("echo.note { text: 'typed in the repl' }", 10_000);
    await repl.waitForOutput('echo.note published to 2 subscriber(s)', 10_000);

    // A typo gets the list of commands; .exit leaves with 0, and the listener it started is gone.
    type('cal echo.ping\r');
    await repl.waitForOutput("unknown command 'cal': call, emit, services, endpoints, subscribe, unsubscribe, ps, help", 10_000);
    type('.exit\r');
    expect(await repl.exited).toEqual({ code: 0, signal: null });
    const services = (await ps('repl')).instances.map((i) => i.service);
    expect(services).toEqual(['echo']);

    // A script piped in: its results in order, and exit 1 when a command failed.
    const piped = (script: string) =>
      spawnSync(process.execPath, [...typescriptExecArgv(), CLI, 'repl', '-n', 'repl'], {
        input: script,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const ok = piped('call echo.ping\nendpoints echo\n');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`> ${echo!.pid}\n`);
    expect(ok.stdout.indexOf(String(echo!.pid))).toBeLessThan(ok.stdout.indexOf("ping: 'shm'"));
    expect(piped('call echo.nope\n').status).toBe(1);
    await supervisor.stop('SIGINT');
  }, 90_000);
});
