import { ControlChannel, ignoreBrokenPipe } from './control-channel';
import { WorkerService } from './worker-host';

/** One service of a group: its entry module (one that calls `bootstrap()`) and what its thread sees. */
export interface GroupMember {
  service: string;
  entry: string;
  /** Its own environment on top of the process's (HOSTMESH_BINDINGS, limits, the manifest's env). */
  env?: Record<string, string>;
  /** Node flags for its thread (the TypeScript loader for a .ts entry). */
  execArgv?: string[];
}

export interface ServiceGroupOptions {
  /** How long a stop waits for each member to drain before ending its thread (default 10 s). */
  gracePeriodMs?: number;
  readyTimeoutMs?: number;
}

/** Signals a member's @OnSignal handlers may want; SIGTERM and SIGINT drain the group instead. */
const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2'];

/**
 * Several services in one process, each in its own worker thread: one process and its V8
 * baseline instead of one per service. What `"group"` in the manifest runs. Members start in
 * the order given (dependencies first) and stop in reverse. Towards the supervisor the group
 * is one process that reports for each member: its readiness, its health every second and
 * its log lines, each under the member's name. If a member's thread ends on its own, the
 * whole group stops and exits 1, so the supervisor restarts it as a unit: members share a
 * process, and a half-running group is not something a manifest describes.
 */
export class ServiceGroup {
  private readonly running: Array<{ member: GroupMember; worker: WorkerService }> = [];
  /** The member being started, if any: a stop waits for it, then stops it too. */
  private starting: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;
  private signals = 0;
  private readonly control: ControlChannel | undefined;

  constructor(
    private readonly members: GroupMember[],
    private readonly options: ServiceGroupOptions = {},
  ) {
    // Without a supervisor the group is still usable by hand: lines go to this process's output.
    this.control = ControlChannel.fromEnvironment(() => {
      if (process.env.HOSTMESH_ORPHAN === 'keep') return;
      void this.stop('supervisor gone').then(() => process.exit(0));
    });
    // Our stdout and stderr are pipes the supervisor reads: once it is gone, a line written
    // must not end the process (and the drain of the members) with EPIPE.
    if (this.control) for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreBrokenPipe);
  }

  /** Starts every member in order; resolves once all are ready. A member that fails to start stops the others. */
  async start(): Promise<void> {
    try {
      for (const member of this.members) {
        if (this.stopping) return;
        this.starting = this.startMember(member);
        await this.starting;
      }
    } catch (error) {
      await this.stop((error as Error).message);
      throw error;
    } finally {
      this.starting = undefined;
    }
  }

  /** Delivers `signal` to every member, as the process's main thread received it. */
  signal(signal: NodeJS.Signals): void {
    for (const { worker } of this.running) worker.signal(signal);
  }

  /** Stops the members in reverse start order, within one grace period; safe to call twice. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.drain(reason);
    return this.stopping;
  }

  /** SIGTERM/SIGINT drain the group and exit 0 (a second one exits at once); the other signals reach every member. */
  handleSignals(): void {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        if (++this.signals > 1) process.exit(130);
        // A drain already under way (a member exited, the supervisor went away) is joined, not cut short.
        void this.stop(signal).then(() => process.exit(0));
      });
    }
    for (const signal of FORWARDED) process.on(signal, () => this.signal(signal));
  }

  private async startMember(member: GroupMember): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...member.env };
    // The control pipe is the group's: members report through it, never write to it themselves.
    delete env.HOSTMESH_CONTROL_FD;
    const worker = await WorkerService.start(member.entry, {
      env,
      execArgv: member.execArgv,
      readyTimeoutMs: this.options.readyTimeoutMs,
      captureOutput: true,
      // Keyed by the manifest's name: the one the supervisor knows the member by.
      onHealth: (snapshot) => this.control?.send({ type: 'health', service: member.service, snapshot }),
      onLine: (line, stream) => this.forward(member.service, line, stream),
      onError: (error) => this.forward(member.service, `uncaught: ${error.stack ?? String(error)}`, 'err'),
    }).catch((error: Error) => {
      throw new Error(`${member.service}: ${error.message}`);
    });
    if (this.stopping) {
      // Stopped while it was starting: it never joins the group.
      await worker.stop(this.options.gracePeriodMs ?? 10_000);
      return;
    }
    this.running.push({ member, worker });
    this.control?.send({ type: 'ready', pid: process.pid, service: member.service, instance: worker.instance ?? '' });
    if (worker.lastHealth) this.control?.send({ type: 'health', service: member.service, snapshot: worker.lastHealth });
    void worker.exited.then((code) => {
      if (this.stopping) return;
      this.forward(member.service, `exited with code ${code} (thread ${worker.threadId}): stopping its group`, 'err');
      void this.stop(`${member.service} exited`).then(() => process.exit(1));
    });
  }

  private forward(service: string, line: string, stream: 'out' | 'err'): void {
    for (const part of line.split('\n')) {
      if (this.control) this.control.send({ type: 'log', service, stream, line: part }, { droppable: true });
      else (stream === 'out' ? process.stdout : process.stderr).write(`[${service}] ${part}\n`);
    }
  }

  private async drain(reason: string): Promise<void> {
    this.control?.send({ type: 'stopping', reason });
    // One grace period for the whole group, as for one process; the supervisor's SIGKILL
    // follows it, so keep a tenth of it for the threads' own ending.
    const deadline = performance.now() + (this.options.gracePeriodMs ?? 10_000) * 0.9;
    await this.starting?.catch(() => undefined);
    for (const { worker } of [...this.running].reverse()) await worker.stop(Math.max(0, deadline - performance.now()));
    this.control?.close();
  }
}
