import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { ServiceHost, type WorkerService } from '@hostmesh/framework';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** The bench's server processes: started on CPU 1 with --pin, all killed when the bench exits. */
const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((child) => child.kill('SIGKILL')));

let pinned = false;
const READY_TIMEOUT_MS = 30_000;
const ext = extname(__filename);

export function pinServers(on: boolean): void {
  pinned = on;
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
}

/**
 * With --pin, runs `script` again under `taskset -c 0` (the measuring client on CPU 0, the
 * services on CPU 1) and exits with its status; returns at once in the pinned run itself.
 */
export function rerunPinned(pin: boolean, script: string, args: string[], timeoutMs?: number): void {
  if (!pin || process.env.HOSTMESH_BENCH_PINNED) return;
  if (!hasTaskset()) throw new Error('--pin needs taskset (util-linux)');
  const rerun = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, script, ...args], {
    stdio: 'inherit',
    env: { ...process.env, HOSTMESH_BENCH_PINNED: '1' },
    timeout: timeoutMs,
  });
  process.exit(rerun.status ?? 1);
}

/**
 * Runs `file` (a sibling module of this one) with node and resolves once it prints `ready`.
 * With --pin it runs on `cpu` (default CPU 1, the servers' CPU); unpinned, `cpu` is ignored.
 */
export function startChild(file: string, extra: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe' = 'ignore', cpu = '1'): Promise<ChildProcess> {
  const argv = [process.execPath, ...process.execArgv, join(__dirname, file + ext), ...extra];
  // taskset execs node, so the child's pid is the server's pid (what the CPU accounting reads).
  const [command, args] = pinned ? ['taskset', ['-c', cpu, ...argv]] : [argv[0]!, argv.slice(1)];
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    // A server that neither gets ready nor exits would hold the whole run: bounded.
    const late = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} printed no 'ready' within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.includes('ready')) {
        clearTimeout(late);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(late);
      reject(new Error(`${file} exited with ${code} before it was ready`));
    });
  });
}

const workers: WorkerService[] = [];

/** Runs `file` in a worker thread of this process (ServiceHost.startInWorker); resolves with its kernel thread id once ready. */
export async function startInWorker(file: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; tid: number }> {
  const service = await ServiceHost.startInWorker(join(__dirname, file + ext), { env: { ...process.env, ...env }, execArgv: process.execArgv });
  workers.push(service);
  const tid = await new Promise<number>((resolve) =>
    service.worker.on('message', (message: { type?: string; tid?: number }) => {
      if (message?.type === 'bench:tid') resolve(message.tid!);
    }),
  );
  return { pid: process.pid, tid };
}

/** SIGTERM to every child still running (and to every worker), then waits (bounded) until each has exited. */
export async function stopChildren(): Promise<void> {
  await Promise.all(workers.splice(0).map((worker) => worker.stop(3000)));
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => child.kill('SIGKILL'), 3000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}
