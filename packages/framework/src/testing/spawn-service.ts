import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { WorkerService } from '../runtime/worker-host';
import { ServiceRegistry } from '../discovery/service-registry';
import { RuntimeDir } from '../core/runtime-dir';
import { ConsoleLogger } from '../core/logger';
import { typescriptExecArgv } from '../core/typescript-entry';

export { typescriptExecArgv };

export interface SpawnOptions {
  /** Environment on top of this process's. */
  env?: NodeJS.ProcessEnv;
  args?: string[];
  /** Wait until this service instance is announced in the registry of `runtimeDir`/`namespace`. */
  ready?: { service: string; instance?: string; runtimeDir: string; namespace?: string };
  readyTimeoutMs?: number;
  /** A command to start Node under (it must exec it, keeping the pid), e.g. `['ip', 'netns', 'exec', 'hm1a']`. */
  prefix?: string[];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A child process running a service; every one is reaped, even when a test fails. */
export class SpawnedService {
  readonly exited: Promise<Exit>;
  private log = '';
  /** Patterns being waited for, checked as output arrives (the bounded log may drop a line before a poll sees it). */
  private readonly waiters = new Set<{ pattern: string | RegExp; found: () => void }>();

  constructor(readonly child: ChildProcess) {
    live.add(child);
    const append = (chunk: Buffer) => {
      const text = chunk.toString();
      if (this.waiters.size > 0) {
        // A line may straddle two chunks: look at the end of what came before, too.
        const window = this.log.slice(-4096) + text;
        for (const waiter of this.waiters) if (matchesPattern(window, waiter.pattern)) waiter.found();
      }
      // Bounded, so a child that floods its output cannot exhaust the test's memory.
      this.log = (this.log + text).slice(-256 * 1024);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolveExit({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.log;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the output contains `pattern`; rejects after `timeoutMs` or if the child exits. */
  async waitForOutput(pattern: string | RegExp, timeoutMs = 5000): Promise<void> {
    let seen = false;
    const waiter = { pattern, found: () => (seen = true) };
    this.waiters.add(waiter);
    try {
      const deadline = Date.now() + timeoutMs;
      // The whole (bounded) log too: a match longer than a chunk and its look-behind window.
      while (!seen && !matchesPattern(this.log, pattern)) {
        if (!this.running) throw new Error(`child exited before printing ${pattern}; output:\n${this.log}`);
        if (Date.now() > deadline) throw new Error(`child did not print ${pattern} within ${timeoutMs} ms; output:\n${this.log}`);
        await sleep(10);
      }
    } finally {
      this.waiters.delete(waiter);
    }
  }

  /** Sends `signal`, then SIGKILL if the child is still there after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  kill(): Promise<Exit> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}

function matchesPattern(text: string, pattern: string | RegExp): boolean {
  if (typeof pattern === 'string') return text.includes(pattern);
  pattern.lastIndex = 0;
  return pattern.test(text);
}

/** Starts `entry` (a .ts or .js file) in a new Node process. */
export async function spawnService(entry: string, options: SpawnOptions = {}): Promise<SpawnedService> {
  const execArgv = entry.endsWith('.ts') ? typescriptExecArgv() : [];
  const prefix = options.prefix ?? [];
  const command = [...prefix, process.execPath, ...execArgv, entry, ...(options.args ?? [])];
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawned = new SpawnedService(child);
  if (options.ready) {
    try {
      await waitForService(options.ready, options.readyTimeoutMs ?? 15_000, spawned);
    } catch (error) {
      await spawned.kill();
      throw error;
    }
  }
  return spawned;
}

/**
 * Starts `entry` in a worker thread of this process (ServiceHost.startInWorker), behind the
 * same SpawnedService surface: `child.kill('SIGTERM')` delivers the signal as a message,
 * SIGKILL terminates the thread, `pid` is this process's.
 */
export async function spawnInWorker(entry: string, options: SpawnOptions = {}): Promise<SpawnedService> {
  const service = await WorkerService.start(entry, {
    env: { ...process.env, ...options.env },
    execArgv: entry.endsWith('.ts') ? typescriptExecArgv() : [],
    readyTimeoutMs: options.readyTimeoutMs,
    captureOutput: true,
  });
  const spawned = new SpawnedService(workerAsChild(service));
  if (options.ready) await waitForService(options.ready, options.readyTimeoutMs ?? 15_000, spawned);
  return spawned;
}

/** The part of ChildProcess that SpawnedService uses, for a service in a worker thread. */
function workerAsChild(service: WorkerService): ChildProcess {
  let exitCode: number | null = null;
  const child = Object.assign(new EventEmitter(), {
    pid: process.pid,
    stdout: service.stdout,
    stderr: service.stderr,
    signalCode: null,
    get exitCode() {
      return exitCode;
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (signal === 'SIGKILL') void service.kill();
      else service.signal(signal);
      return true;
    },
  });
  void service.exited.then((code) => {
    exitCode = code;
    child.emit('exit', code, null);
  });
  return child as unknown as ChildProcess;
}

/** Polls the registry until the child announced the service instance. */
async function waitForService(ready: NonNullable<SpawnOptions['ready']>, timeoutMs: number, spawned: SpawnedService): Promise<void> {
  const registry = new ServiceRegistry(RuntimeDir.open(ready.runtimeDir, ready.namespace ?? 'default'), new ConsoleLogger('test', 'error'));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await registry.find(ready.service, ready.instance ?? '0');
    if (found?.pid === spawned.pid) return;
    if (!spawned.running) throw new Error(`${ready.service} exited before it was ready; output:\n${spawned.output}`);
    if (Date.now() > deadline) throw new Error(`${ready.service} was not ready within ${timeoutMs} ms; output:\n${spawned.output}`);
    await sleep(20);
  }
}

/** Stops every child still running: for afterAll hooks. */
export async function reapAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
