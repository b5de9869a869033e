import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleLogger, Mesh, RuntimeDir } from '@hostmesh/framework';
import { ServiceRegistry } from '@hostmesh/framework/internal';
import { removeStaleObjects } from '@hostmesh/native';
import { ownProcessStartTime } from '@hostmesh/native';
import type { Deployment, ServicePlan } from '../manifest/manifest';
import { MetricsEndpoint } from './metrics-endpoint';
import { findOrphans, readDeadState, stopOrphans, type Orphan } from './orphans';
import { ServiceProcess } from './service-process';
import type { InstanceStatus, SupervisorState } from './state';
import { readState, stateFile } from './state-file';

export interface SupervisorHooks {
  /** Each line a service printed, and the supervisor's own notes (service undefined). */
  log(line: string, source: string | undefined, stream: 'out' | 'err'): void;
  changed?(state: SupervisorState): void;
}

/**
 * Runs a deployment: starts services in dependency order (each waits for the readiness of
 * what it depends on), restarts a crashed instance with exponential backoff, marks one that
 * keeps crashing as failed (the others keep running), drains in reverse order on stop
 * (SIGTERM, then SIGKILL after the grace period), reaps every child, and reclaims the kernel
 * objects of the ones that died.
 */
export class Supervisor {
  private readonly dir: RuntimeDir;
  private readonly registry: ServiceRegistry;
  private readonly processes: ServiceProcess[] = [];
  private state: SupervisorState['state'] = 'starting';
  private readonly startedAt = new Date();
  private stateTimer: NodeJS.Timeout | undefined;
  private metrics: MetricsEndpoint | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly deployment: Deployment,
    runtimeBase: string | undefined,
    private readonly hooks: SupervisorHooks,
    private readonly options: { keepQueues?: boolean } = {},
  ) {
    this.dir = RuntimeDir.open(runtimeBase, deployment.namespace);
    this.registry = new ServiceRegistry(this.dir, new ConsoleLogger('hostmesh', 'error'));
    const events = {
      log: (instance: ServiceProcess, line: string, stream: 'out' | 'err', source?: string) => hooks.log(line, source ?? instance.label, stream),
      changed: () => this.saveState(),
      crashed: (instance: ServiceProcess, how: string) => this.onCrash(instance, how),
      exited: () => this.reclaim(),
    };
    for (const plan of deployment.services) {
      for (let index = 0; index < plan.replicas; index++) {
        this.processes.push(new ServiceProcess(plan, index, deployment, this.dir.base, join(this.dir.root, 'logs'), events));
      }
    }
  }

  get runtimeDir(): RuntimeDir {
    return this.dir;
  }

  /** Refuses to start over a live supervisor of the same namespace; remembers a dead one's state. */
  claim(): void {
    const existing = readState(this.dir);
    if (existing) {
      throw new Error(
        `a deployment is already running in namespace '${this.deployment.namespace}' (supervisor pid ${existing.pid}, ${existing.manifest}): stop it with \`hostmesh down\``,
      );
    }
    this.previous = readDeadState(this.dir);
    this.saveState();
  }

  /** The state a supervisor that died (SIGKILL) left, read before ours replaced it. */
  private previous: SupervisorState | undefined;

  async start(): Promise<void> {
    await this.cleanUpAfterDeadSupervisor();
    this.note(`starting ${this.processes.length} instance(s) of ${this.deployment.services.length} service(s) in namespace '${this.deployment.namespace}'`);
    this.stateTimer = setInterval(() => this.saveState(), 1000);
    if (this.deployment.prometheusPort !== undefined) {
      this.metrics = await MetricsEndpoint.listen(this.deployment.prometheusPort, () => this.snapshot());
      this.note(`Prometheus metrics on http://127.0.0.1:${this.deployment.prometheusPort}/metrics`);
    }
    await this.announceRemote();
    for (const plan of this.deployment.services) {
      const instances = this.processes.filter((p) => p.plan === plan);
      for (const instance of instances) instance.start();
      const ready = await Promise.all(instances.map((instance) => this.untilReadyOrFailed(instance)));
      const what = plan.members ? `group ${plan.name} (${plan.members.map((m) => m.name).join(', ')})` : plan.name;
      if (ready.every(Boolean)) this.note(`${what} is ready (${instances.map((i) => `pid ${i.pid}`).join(', ')})`);
      else this.note(`${what} did not become ready; starting what depends on it anyway`, 'err');
      if (this.stopping) return;
    }
    this.state = 'running';
    this.saveState();
  }

  /**
   * Restarts each instance of `plan` in turn while the rest of the deployment serves: drain it,
   * start it again, wait until it is ready (what `up --watch` does after a rebuild). An
   * instance given up on gets a new chance. Resolves false if one did not become ready.
   */
  async restart(plan: ServicePlan): Promise<boolean> {
    let ready = true;
    for (const instance of this.processes.filter((p) => p.plan === plan)) {
      if (this.stopping) return false;
      // Stopped (and its exit, crash or not, fully handled) before its restart timer is cleared:
      // a crash handled after would schedule a second start of the same instance.
      await instance.stop(this.deployment.gracePeriodMs);
      clearTimeout(instance.restartTimer);
      instance.restartTimer = undefined;
      if (this.stopping) return false;
      instance.restarts++;
      instance.crashes = [];
      instance.start();
      ready = (await this.untilReadyOrFailed(instance)) && ready;
    }
    return ready;
  }

  /** Drains services in reverse dependency order; resolves when every child is reaped. */
  stop(reason: string): Promise<void> {
    this.stopping ??= this.drain(reason).then(this.markStopped);
    return this.stopping;
  }

  private markStopped: () => void = () => undefined;
  /** Resolves once a stop (from a signal or `stop()`) has finished. */
  readonly stopped: Promise<void> = new Promise((resolve) => (this.markStopped = resolve));

  /** Instances that kept crashing and were given up on: why each failed, in one line. */
  failures(): string[] {
    // A group failed as one process: named as the group (its last error names the member).
    return this.processes.filter((p) => p.state === 'failed').map((p) => describeFailure({ ...p.statuses()[0]!, service: p.plan.name }));
  }

  snapshot(): SupervisorState {
    return {
      schema: 1,
      pid: process.pid,
      startTime: ownProcessStartTime(),
      namespace: this.deployment.namespace,
      manifest: this.deployment.file,
      startedAt: this.startedAt.toISOString(),
      state: this.state,
      instances: this.processes.flatMap((p) => p.statuses()),
    };
  }

  private async drain(reason: string): Promise<void> {
    this.state = 'stopping';
    this.note(`stopping (${reason}): draining in reverse dependency order`);
    for (const plan of [...this.deployment.services].reverse()) {
      const instances = this.processes.filter((p) => p.plan === plan);
      for (const instance of instances) clearTimeout(instance.restartTimer);
      await Promise.all(instances.map((instance) => instance.stop(this.deployment.gracePeriodMs)));
    }
    clearInterval(this.stateTimer);
    for (const remote of this.deployment.remote) await this.registry.unregister(remote.name, 'remote');
    await this.metrics?.close();
    if (!this.options.keepQueues) {
      await this.removeDurableObjects();
      this.dir.renewObjectKey();
    }
    for (const instance of this.processes) instance.closeLog();
    try {
      unlinkSync(stateFile(this.dir));
    } catch {
      // gone already
    }
    this.note('all services stopped');
  }

  /**
   * Services the manifest places on other hosts go into the registry under our pid, so
   * callers here find them (over TCP, TLS when configured) for as long as we run.
   */
  private async announceRemote(): Promise<void> {
    for (const remote of this.deployment.remote) {
      await this.registry.register({
        schema: 1,
        service: remote.name,
        instance: 'remote',
        pid: process.pid,
        startTime: ownProcessStartTime(),
        host: remote.address,
        startedAt: this.startedAt.toISOString(),
        listeners: { tcp: { kind: 'tcp', host: remote.address, port: remote.port, ...(remote.tls ? { tls: true } : {}) } },
        routes: [],
        subscriptions: [],
        maxPayloadBytes: 0xffff_ffff,
        remote: { host: remote.host },
      });
      this.note(
        `${remote.name} runs on host ${remote.host}: reached at ${remote.address}:${remote.port}${remote.tls ? ' over TLS' : ' (plain TCP: insecure)'}`,
      );
    }
  }

  /**
   * Before starting: what a supervisor killed before it could drain left behind. Its
   * services that still run (HOSTMESH_ORPHAN=keep, or still draining) are stopped (they
   * cannot be adopted: they are not our children), then kernel objects of dead owners,
   * stale registry entries and socket files are reclaimed.
   */
  private async cleanUpAfterDeadSupervisor(): Promise<void> {
    const dead = this.previous;
    this.previous = undefined;
    if (dead) {
      const orphans = findOrphans(dead, this.dir);
      if (orphans.length > 0) {
        this.note(`supervisor pid ${dead.pid} died leaving ${orphans.map((o) => `${o.label} (pid ${o.pid})`).join(', ')} running: stopping them`);
        // Serving while every service of the process is in the registry: a group that has begun
        // to drain (its last member unregisters first) is left to finish.
        const serving = async (orphan: Orphan) => {
          for (const member of orphan.members) if ((await this.registry.find(member, orphan.instance))?.pid !== orphan.pid) return false;
          return true;
        };
        const left = await stopOrphans(orphans, serving, this.deployment.gracePeriodMs);
        if (left.length > 0) this.note(`could not stop ${left.join(', ')}`, 'err');
      }
    }
    await this.reclaim();
  }

  /** After a child died: remove shared-memory objects of dead owners, and its registry entry and sockets. */
  private async reclaim(): Promise<void> {
    try {
      removeStaleObjects();
      await this.registry.list(); // a lookup reclaims descriptors and socket files of dead processes
    } catch (error) {
      this.note(`could not reclaim what a stopped service left: ${(error as Error).message}`, 'err');
    }
  }

  /**
   * The deployment is down: its event queues (with any events still in them) and its locks
   * go too, so nothing of it stays in the kernel. `keepQueues` keeps the queues.
   */
  private async removeDurableObjects(): Promise<void> {
    const mesh = Mesh.connect({ namespace: this.deployment.namespace, runtimeDir: this.dir.base, logLevel: 'silent' });
    try {
      const queues = await mesh.registry.purgeSubscriptions();
      const locks = mesh.locks.removeAll();
      if (queues.length + locks.length > 0) this.note(`removed ${[...queues, ...locks.map((l) => `lock ${l}`)].join(', ')}`);
    } finally {
      await mesh.close(0);
    }
  }

  private async untilReadyOrFailed(instance: ServiceProcess): Promise<boolean> {
    for (;;) {
      if (await instance.whenReady()) return true;
      if (instance.state === 'failed' || this.stopping) return false;
      // Crashed at start: wait for the restart (or the crash-loop verdict).
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (instance.state === 'backoff') continue;
      if (instance.state !== 'starting') return false;
    }
  }

  private onCrash(instance: ServiceProcess, how: string): void {
    if (this.stopping) return;
    const now = Date.now();
    const { restart } = this.deployment;
    instance.crashes = [...instance.crashes.filter((at) => now - at < restart.windowMs), now];
    if (instance.crashes.length > restart.maxRestarts) {
      instance.state = 'failed';
      this.note(`${instance.label} ${how}: crash loop (${instance.crashes.length} crashes within ${restart.windowMs / 1000} s), giving up on it`, 'err');
      this.saveState();
      return;
    }
    const delay = Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** (instance.crashes.length - 1));
    instance.state = 'backoff';
    this.note(`${instance.label} ${how}: restarting in ${delay} ms`, 'err');
    instance.restartTimer = setTimeout(() => {
      instance.restartTimer = undefined;
      if (this.stopping) return;
      instance.restarts++;
      instance.start();
    }, delay);
    this.saveState();
  }

  private saveState(): void {
    if (this.stopping && this.state === 'stopping' && this.processes.every((p) => p.state === 'stopped' || p.state === 'failed')) return;
    const path = stateFile(this.dir);
    const temp = `${path}.${process.pid}.tmp`;
    const snapshot = this.snapshot();
    writeFileSync(temp, JSON.stringify(snapshot, null, 2), { mode: 0o600 });
    renameSync(temp, path);
    this.hooks.changed?.(snapshot);
  }

  private note(line: string, stream: 'out' | 'err' = 'out'): void {
    this.hooks.log(line, undefined, stream);
  }
}

/** `crash@0 failed: exited with code 3 at …; last error: …` */
export function describeFailure(instance: InstanceStatus): string {
  const last = instance.lastErrors?.filter((line) => !/^(exited with code|killed by)/.test(line)).at(-1);
  return `${instance.service}@${instance.instance} failed: ${instance.lastExit ?? 'never started'}${last ? `; last error: ${last}` : ''}`;
}
