import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { ConsoleLogger as ConsoleLoggerClass } from '../core/logger';
import type { RuntimeDir as RuntimeDirClass } from '../core/runtime-dir';
import type { ServiceRegistry as ServiceRegistryClass } from '../discovery/service-registry';
import { announceThreadExit } from '../core/thread-exit';
import type { DiagnosticSnapshot } from './diagnostics';

/** What a service in a worker tells the thread that started it (ServiceHost in a worker posts it). */
export type WorkerReport =
  | { type: 'hostmesh:ready'; service: string; instance: string; namespace: string; runtimeDir: string | undefined; descriptorPath: string }
  /** Every second while it runs, as a supervised process tells its supervisor. */
  | { type: 'hostmesh:health'; snapshot: DiagnosticSnapshot };
/** What the starting thread tells the service: a signal, delivered as process signals are to a main thread. */
export type WorkerCommand = { type: 'hostmesh:signal'; signal: NodeJS.Signals };

export interface WorkerServiceOptions {
  /** Environment of the worker (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Node flags for the worker, e.g. to run TypeScript sources. */
  execArgv?: string[];
  /** Give up waiting for `ready` after this long (default 15 s). */
  readyTimeoutMs?: number;
  /**
   * Hand the worker's stdout and stderr to the caller as streams (`WorkerService.stdout`), which
   * it must then read. By default they go to this process's, as a child process's inherited ones would.
   */
  captureOutput?: boolean;
  /** Called with each line the service writes, from its first on (implies captured output, read here). */
  onLine?(line: string, stream: 'out' | 'err'): void;
  /** Called with an error the service did not catch, which ends its thread (default: written to this process's stderr). */
  onError?(error: Error): void;
  /** Called with the service's health snapshot, once when it is ready and every second after. */
  onHealth?(snapshot: DiagnosticSnapshot): void;
}

/**
 * A service running in a worker thread of this process (`ServiceHost.startInWorker`): small
 * services share one process and one V8 heap's worth of memory, and callers in this process
 * reach them over the thread transport. Signals reach the service as messages (`signal()`),
 * since a worker gets none of the process's. When the worker exits, however it exits, its
 * thread connections are told (THREAD_GONE_CHANNEL) and its registry entry is removed: the
 * process it ran in is still alive, so nothing else would know it is gone.
 */
export class WorkerService {
  readonly exited: Promise<number>;
  /** The worker's output, when started with `captureOutput` (else null: it goes to this process's). */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Its thread id, kept: `worker.threadId` reads -1 once the worker has exited. */
  readonly threadId: number;
  /** What it reported last: bindings, in-flight calls, latency per endpoint, memory. */
  lastHealth: DiagnosticSnapshot | undefined;
  private report: Extract<WorkerReport, { type: 'hostmesh:ready' }> | undefined;

  private constructor(
    readonly worker: Worker,
    captured: boolean,
  ) {
    this.stdout = captured ? worker.stdout : null;
    this.stderr = captured ? worker.stderr : null;
    const threadId = (this.threadId = worker.threadId);
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        announceThreadExit(threadId);
        void this.forget()
          .catch((error: unknown) => process.stderr.write(`[worker ${threadId}] could not remove its registry entry: ${String(error)}\n`))
          .finally(() => resolve(code));
      });
    });
  }

  /** Starts `entry` (a module that calls `bootstrap()`) in a worker and waits until it is ready. */
  static async start(entry: string, options: WorkerServiceOptions = {}): Promise<WorkerService> {
    const captured = options.captureOutput === true || options.onLine !== undefined;
    const worker = new Worker(entry, { env: options.env ?? process.env, execArgv: options.execArgv ?? [], stdout: captured, stderr: captured });
    const service = new WorkerService(worker, captured);
    const onLine = options.onLine;
    if (onLine) {
      createInterface({ input: worker.stdout, crlfDelay: Infinity }).on('line', (line) => onLine(line, 'out'));
      createInterface({ input: worker.stderr, crlfDelay: Infinity }).on('line', (line) => onLine(line, 'err'));
    }
    worker.on('message', (message: WorkerReport) => {
      if (message?.type !== 'hostmesh:health') return;
      service.lastHealth = message.snapshot;
      options.onHealth?.(message.snapshot);
    });
    // An error the service does not catch ends its thread: say so, as a crashing process would.
    worker.on('error', (error) => {
      if (options.onError) options.onError(error);
      else process.stderr.write(`[worker ${service.threadId}] ${error.stack ?? String(error)}\n`);
    });
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${entry} was not ready within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: WorkerReport) => {
        if (message?.type !== 'hostmesh:ready') return;
        service.report = message;
        clearTimeout(timer);
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
      const failed = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      worker.once('error', failed);
      worker.once('exit', (code) => failed(new Error(`${entry} exited with ${code} before it was ready`)));
      void service.exited.finally(() => worker.off('error', failed));
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return service;
  }

  /** The instance name it registered under, once ready. */
  get instance(): string | undefined {
    return this.report?.instance;
  }

  /** Delivers `signal` to the service: SIGTERM/SIGINT drain and end it, SIGUSR2 writes diagnostics, others run its @OnSignal handlers. */
  signal(signal: NodeJS.Signals): void {
    this.worker.postMessage({ type: 'hostmesh:signal', signal } satisfies WorkerCommand);
  }

  /** SIGTERM, then termination if it has not ended after `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 15_000): Promise<number> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => void this.worker.terminate(), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Ends the thread at once, as SIGKILL ends a process. */
  async kill(): Promise<number> {
    await this.worker.terminate();
    return this.exited;
  }

  /** A thread that did not unregister (terminated, crashed) leaves its descriptor: remove it. */
  private async forget(): Promise<void> {
    // A service that drained removed its entry itself: then there is nothing to load or do.
    if (!this.report || !existsSync(this.report.descriptorPath)) return;
    const { service, instance, namespace, runtimeDir } = this.report;
    // Loaded only now: a group's process, whose main thread only starts and watches workers,
    // need not load every transport (and NATS) for this (about 20 MB of its memory).
    const { ServiceRegistry } = require('../discovery/service-registry') as { ServiceRegistry: typeof ServiceRegistryClass };
    const { RuntimeDir } = require('../core/runtime-dir') as { RuntimeDir: typeof RuntimeDirClass };
    const { ConsoleLogger } = require('../core/logger') as { ConsoleLogger: typeof ConsoleLoggerClass };
    const registry = new ServiceRegistry(RuntimeDir.open(runtimeDir, namespace), new ConsoleLogger('worker-host', 'error'));
    const found = await registry.find(service, instance).catch(() => undefined);
    if (found?.pid === process.pid && found.threadId === this.threadId) await registry.unregister(service, instance);
  }
}
