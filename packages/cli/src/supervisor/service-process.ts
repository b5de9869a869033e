import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { GroupMember } from '@hostmesh/framework';
import { typescriptExecArgv, type ControlMessage, type DiagnosticSnapshot } from '@hostmesh/framework/internal';
import type { Deployment, MemberPlan, ServicePlan } from '../manifest/manifest';
import type { InstanceState, InstanceStatus } from './state';

/** Longest log line kept; a child that prints more has its line cut, not our memory. */
const MAX_LINE = 16 * 1024;
/** How long a new instance has to report ready. */
const READY_TIMEOUT_MS = 30_000;

export interface ProcessEvents {
  /** `source`: the label of the group member that wrote it (else the instance's own). */
  log(instance: ServiceProcess, line: string, stream: 'out' | 'err', source?: string): void;
  changed(instance: ServiceProcess): void;
  /** The process ended without being asked to; the supervisor decides what next. */
  crashed(instance: ServiceProcess, how: string): void;
  /** The process ended, asked or not: whatever it left must be reclaimed. */
  exited(instance: ServiceProcess): Promise<void>;
}

/**
 * One service instance: its process, its control pipe (fd 3: readiness and health as JSON
 * lines), its log file. Every process it spawns is reaped: `exited` resolves for each.
 */
export class ServiceProcess {
  state: InstanceState = 'stopped';
  child: ChildProcess | undefined;
  restarts = 0;
  crashes: number[] = [];
  startedAt: Date | undefined;
  lastExit: string | undefined;
  /** The last lines it wrote to stderr, kept to say why it failed. */
  private readonly lastErrors: string[] = [];
  health: DiagnosticSnapshot | undefined;
  callsPerSecond = 0;
  /** It said it is stopping without being asked (a group whose member ended): it exits, then restarts. */
  private draining = false;
  /** A group's members, by name: what each reported, and its own log. */
  private readonly members = new Map<string, { plan: MemberPlan; ready: boolean; health?: DiagnosticSnapshot; callsPerSecond: number; log: WriteStream }>();
  /** Set while a restart is scheduled (backoff). */
  restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readyWaiters: Array<(ready: boolean) => void> = [];
  private readyTimer: NodeJS.Timeout | undefined;
  private readonly log: WriteStream;

  constructor(
    readonly plan: ServicePlan,
    readonly index: number,
    private readonly deployment: Deployment,
    private readonly runtimeDir: string,
    logDir: string,
    private readonly events: ProcessEvents,
  ) {
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    this.log = createWriteStream(join(logDir, `${this.label}.log`), { flags: 'a', mode: 0o600 });
    for (const member of plan.members ?? []) {
      const log = createWriteStream(join(logDir, `${member.name}@${index}.log`), { flags: 'a', mode: 0o600 });
      this.members.set(member.name, { plan: member, ready: false, callsPerSecond: 0, log });
    }
  }

  get label(): string {
    return `${this.plan.name}@${this.index}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What `ps` shows: the instance, or each service of a group (one pid, one restart count). */
  statuses(): InstanceStatus[] {
    const own: InstanceStatus = {
      service: this.plan.name,
      instance: this.index,
      pid: this.state === 'stopped' || this.state === 'failed' ? undefined : this.pid,
      state: this.draining && this.state === 'ready' ? 'stopping' : this.state,
      restarts: this.restarts,
      startedAt: this.startedAt?.toISOString(),
      lastExit: this.lastExit,
      ...(this.state === 'failed' ? { lastErrors: [...this.lastErrors] } : {}),
      callsPerSecond: this.callsPerSecond,
      health: this.health,
    };
    if (this.members.size === 0) return [own];
    return [...this.members.values()].map((member) => ({
      ...own,
      service: member.plan.name,
      group: this.plan.name,
      // A member ready while the others still start shows as ready.
      state: this.state === 'starting' && member.ready ? 'ready' : own.state,
      callsPerSecond: member.callsPerSecond,
      health: member.health,
    }));
  }

  start(): void {
    const entry = this.plan.members ? require.resolve('@hostmesh/framework/service-group') : this.plan.entry;
    const child = spawn(process.execPath, [...typescriptFlags(entry), ...this.plan.nodeOptions, entry], {
      env: {
        ...process.env,
        ...this.plan.env,
        ...(this.plan.members ? { HOSTMESH_GROUP: JSON.stringify(this.plan.members.map(groupMember)) } : {}),
        HOSTMESH_NAMESPACE: this.deployment.namespace,
        HOSTMESH_RUNTIME_DIR: this.runtimeDir,
        HOSTMESH_INSTANCE: String(this.index),
        HOSTMESH_REPLICAS: String(this.plan.replicas),
        HOSTMESH_CONTROL_FD: '3',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C at the terminal reaches only the supervisor, which
      // then drains services in order. If the supervisor dies, the control pipe ends and
      // the service stops itself (see ControlChannel): no orphans.
      detached: true,
    });
    this.child = child;
    this.state = 'starting';
    this.startedAt = new Date();
    this.health = undefined;
    this.draining = false;
    for (const member of this.members.values()) {
      member.ready = false;
      member.health = undefined;
      member.callsPerSecond = 0;
    }
    this.events.changed(this);
    this.pipeLines(child.stdout!, 'out');
    this.pipeLines(child.stderr!, 'err');
    createInterface({ input: child.stdio[3] as NodeJS.ReadableStream, crlfDelay: Infinity }).on('line', (line) => this.onControl(line));
    this.armReadyTimer(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        clearTimeout(this.readyTimer);
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        this.lastExit = `${how} at ${new Date().toISOString()}`;
        const expected = this.state === 'stopping';
        this.write(how, expected && code === 0 ? 'out' : 'err');
        this.state = 'stopped';
        this.settleReady(false);
        // Whatever it held (segments, descriptor, socket files) is an orphan now: reclaim it.
        void this.events.exited(this).finally(() => {
          if (!expected) this.events.crashed(this, how);
          this.events.changed(this);
          resolve();
        });
      });
    });
  }

  /** Resolves true once the instance reported ready, false if it died first. */
  whenReady(): Promise<boolean> {
    if (this.state === 'ready') return Promise.resolve(true);
    if (this.state !== 'starting') return Promise.resolve(false);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone and reaped. */
  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      // It ended on its own: wait until that exit is handled (reclaimed, crash noted) first.
      await this.exited;
      this.state = this.state === 'failed' ? 'failed' : 'stopped';
      return;
    }
    this.state = 'stopping';
    this.events.changed(this);
    child.kill('SIGTERM');
    const killer = setTimeout(() => {
      this.write(`still running ${graceMs} ms after SIGTERM: SIGKILL`, 'err');
      child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(killer);
  }

  write(line: string, stream: 'out' | 'err'): void {
    if (stream === 'err') this.remember(line);
    // A line may come after the log was closed (the child's streams drain after its exit): drop it there.
    if (!this.log.writableEnded) this.log.write(`${new Date().toISOString()} ${stream === 'err' ? 'E' : 'I'} ${line}\n`);
    this.events.log(this, line, stream);
  }

  /** Keeps the lines that say what went wrong, not the stack frames under them. */
  private remember(line: string): void {
    if (/^(\s+at |- \/|Require stack:$|\s*$)/.test(line)) return;
    this.lastErrors.push(line);
    if (this.lastErrors.length > 5) this.lastErrors.shift();
  }

  closeLog(): void {
    this.log.end();
    for (const member of this.members.values()) member.log.end();
  }

  private pipeLines(stream: NodeJS.ReadableStream, kind: 'out' | 'err'): void {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => this.write(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}… (${line.length} bytes)` : line, kind));
  }

  private armReadyTimer(child: ChildProcess): void {
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => {
      if (this.state !== 'starting') return;
      this.write(`not ready within ${READY_TIMEOUT_MS} ms: killing it`, 'err');
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);
  }

  private onControl(line: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(line) as ControlMessage;
    } catch {
      return;
    }
    if (message.type === 'ready' && this.state === 'starting') {
      const member = this.members.get(message.service);
      if (member) member.ready = true;
      // A group is ready when every one of its services is; each member, started in turn, has
      // as long to become ready as a service of its own would.
      if (this.members.size > 0 && [...this.members.values()].some((m) => !m.ready)) {
        if (this.child) this.armReadyTimer(this.child);
        this.events.changed(this);
        return;
      }
      clearTimeout(this.readyTimer);
      this.state = 'ready';
      this.settleReady(true);
      this.events.changed(this);
    } else if (message.type === 'health') {
      const member = this.members.get(message.service ?? message.snapshot.service);
      const previous = member ? member.health : this.health;
      const rate = previous ? callsPerSecond(previous, message.snapshot) : 0;
      if (member) {
        member.health = message.snapshot;
        member.callsPerSecond = rate;
      } else {
        this.health = message.snapshot;
        this.callsPerSecond = rate;
      }
      // The first snapshot follows `ready` at once: save it now, so a `ps` right after
      // `up --detach` shows the bindings instead of waiting for the next periodic save.
      if (!previous) this.events.changed(this);
    } else if (message.type === 'stopping' && this.state === 'ready') {
      // It drains on its own (a group whose member ended): show it, and that a restart follows its exit.
      this.draining = true;
      this.events.changed(this);
    } else if (message.type === 'log') {
      const member = this.members.get(message.service);
      if (!member) return;
      const line = message.line.length > MAX_LINE ? `${message.line.slice(0, MAX_LINE)}… (${message.line.length} bytes)` : message.line;
      if (message.stream === 'err') this.remember(line);
      if (!member.log.writableEnded) member.log.write(`${new Date().toISOString()} ${message.stream === 'err' ? 'E' : 'I'} ${line}\n`);
      this.events.log(this, line, message.stream, `${member.plan.name}@${this.index}`);
    }
  }

  private settleReady(ready: boolean): void {
    for (const wake of this.readyWaiters.splice(0)) wake(ready);
  }
}

/** Node flags to run a TypeScript entry from sources (the examples' and tests' services). */
function typescriptFlags(entry: string): string[] {
  return entry.endsWith('.ts') ? typescriptExecArgv() : [];
}

function groupMember(member: MemberPlan): GroupMember {
  return { service: member.name, entry: member.entry, env: member.env, execArgv: typescriptFlags(member.entry) };
}

function callsPerSecond(previous: DiagnosticSnapshot, current: DiagnosticSnapshot): number {
  const calls = (s: DiagnosticSnapshot) => s.endpoints.reduce((sum, e) => sum + e.calls, 0);
  const seconds = (Date.parse(current.at) - Date.parse(previous.at)) / 1000;
  return seconds > 0 ? Math.max(0, (calls(current) - calls(previous)) / seconds) : 0;
}
