import { createInbox, type NatsConnection, type Subscription } from 'nats';
import { ContainerModule, inject, injectable } from 'inversify';
import { PeerRefusedError } from '../core/errors/errors';
import { MESH_CONFIG, type MeshConfig } from '../config/config';
import type { ServiceDescriptor } from './descriptor';
import { LOGGER, type Logger } from '../core/logger';
import { REMOTE_DIRECTORY, type RemoteDirectory } from './remote-directory';
import { NatsTransport } from '../transports/nats/nats.transport';

/**
 * Services that listen on NATS, as every process connected to the same NATS servers sees
 * them (docs/nats.md, "Discovery"). Subjects, `<dir>` = `hm.<namespace>.dir`:
 *
 *   <dir>.up     a service's descriptor, when it registers and every `announceMs` after
 *   <dir>.down   { service, instance, host, pid } when it unregisters
 *   <dir>.who    request (not a queue group: every process answers): the descriptors it announces
 *
 * A descriptor not heard of for 3 × `announceMs` is forgotten: a process killed without its
 * `down` drops out within that time (its connections fail earlier, on their heartbeats).
 */
@injectable('Singleton')
export class NatsDirectory implements RemoteDirectory {
  private readonly subject: string;
  private readonly announceMs: number;
  private readonly known = new Map<string, { descriptor: ServiceDescriptor; seenAt: number }>();
  private readonly announced = new Map<string, ServiceDescriptor>();
  private readonly listeners = new Set<() => void>();
  private started: Promise<NatsConnection | undefined> | null = null;
  private subscriptions: Subscription[] = [];
  /** Where answers to our `who` arrive. */
  private inbox: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private retryAt = 0;
  private final: Error | undefined;
  private readonly logger: Logger;

  constructor(
    @inject(NatsTransport) private readonly transport: NatsTransport,
    @inject(MESH_CONFIG) config: Pick<MeshConfig, 'namespace' | 'transports'>,
    @inject(LOGGER) logger: Logger,
  ) {
    // `_dir` is no service name (those start with a letter): it never meets a service's subjects.
    this.subject = `hm.${config.namespace}._dir`;
    this.announceMs = config.transports.nats?.announceMs ?? 2000;
    this.logger = logger.child('nats-directory');
    transport.onGone((subject) => this.forgetSubject(subject));
    transport.onReconnect(() => void this.rediscover());
  }

  async list(): Promise<ServiceDescriptor[]> {
    if (!(await this.start())) return [];
    const horizon = Date.now() - 3 * this.announceMs;
    const live: ServiceDescriptor[] = [];
    for (const [key, entry] of this.known) {
      if (entry.seenAt < horizon) this.known.delete(key);
      else live.push(entry.descriptor);
    }
    return live;
  }

  async announce(descriptor: ServiceDescriptor): Promise<void> {
    if (descriptor.listeners.nats === undefined) return;
    this.announced.set(keyOf(descriptor), descriptor);
    const nc = await this.start();
    if (!nc || nc.isClosed()) return; // the periodic announcement (or a `who`) tells them later
    if (this.send(nc, `${this.subject}.up`, [descriptor])) await boundedFlush(nc);
  }

  async withdraw(service: string, instance: string): Promise<void> {
    const ours = [...this.announced.values()].find((d) => d.service === service && d.instance === instance);
    if (!ours) return;
    this.announced.delete(keyOf(ours));
    const nc = this.started ? await this.started.catch(() => undefined) : undefined;
    if (!nc || nc.isClosed()) return;
    if (this.send(nc, `${this.subject}.down`, { service, instance, host: ours.host, pid: ours.pid })) await boundedFlush(nc);
  }

  problem(): Error | undefined {
    return this.final;
  }

  /**
   * After NATS was away (a restarted server remembers nothing), what changed meanwhile was
   * announced to nobody: announce ours and ask everyone again, rather than wait announceMs.
   */
  private async rediscover(): Promise<void> {
    const nc = this.started ? await this.started.catch(() => undefined) : undefined;
    if (!nc || nc.isClosed() || this.closed || this.inbox === null) return;
    if (this.announced.size > 0) this.send(nc, `${this.subject}.up`, [...this.announced.values()]);
    try {
      nc.publish(`${this.subject}.who`, undefined, { reply: this.inbox });
    } catch {
      // closing under us
    }
  }

  private async reannounce(): Promise<void> {
    const nc = await this.start();
    if (nc && !nc.isClosed() && this.announced.size > 0) this.send(nc, `${this.subject}.up`, [...this.announced.values()]);
  }

  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // After a start in progress has finished: its subscriptions exist by then.
    const nc = this.started ? await this.started.catch(() => undefined) : undefined;
    if (this.timer) clearInterval(this.timer);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    if (nc) this.transport.releaseConnection();
  }

  /**
   * Subscribes, then asks everyone what they announce and waits a short while for the
   * answers, so the first lookup already sees what runs elsewhere. NATS being away makes
   * the directory empty (logged once), never the local registry unusable.
   */
  private start(): Promise<NatsConnection | undefined> {
    // After a failed connect, lookups do not wait on NATS again for a while.
    if (this.started === null && (this.closed || Date.now() < this.retryAt)) return Promise.resolve(undefined);
    this.started ??= (async () => {
      let nc: NatsConnection;
      try {
        nc = await this.transport.acquireConnection();
      } catch (error) {
        this.logger.once('unreachable', 'warn', `services on other hosts are not discovered: ${(error as Error).message}`);
        this.final = error instanceof PeerRefusedError ? error : undefined;
        this.retryAt = Date.now() + RETRY_MS;
        this.started = null;
        // A service that never looks anything up must still be announced once NATS is back.
        if (this.announced.size > 0) setTimeout(() => void this.reannounce(), RETRY_MS + 50).unref();
        return undefined;
      }
      this.final = undefined;
      if (this.closed) {
        this.transport.releaseConnection();
        return undefined;
      }
      const inbox = createInbox();
      let answers = 0;
      try {
        this.subscriptions = [
          nc.subscribe(`${this.subject}.up`, { callback: (error, msg) => !error && this.learn(msg.data) }),
          nc.subscribe(`${this.subject}.down`, { callback: (error, msg) => !error && this.forget(msg.data) }),
          nc.subscribe(`${this.subject}.who`, { callback: (error, msg) => !error && msg.reply && this.answer(nc, msg.reply) }),
          nc.subscribe(inbox, { callback: (error, msg) => !error && (answers++, this.learn(msg.data)) }),
        ];
        nc.publish(`${this.subject}.who`, undefined, { reply: inbox });
        this.inbox = inbox;
      } catch (error) {
        // The connection closed under us: as unreachable (the subscriptions die with it).
        this.logger.once('unreachable', 'warn', `services on other hosts are not discovered: ${(error as Error).message}`);
        this.transport.releaseConnection();
        this.retryAt = Date.now() + RETRY_MS;
        this.started = null;
        return undefined;
      }
      await boundedFlush(nc);
      // Answers come within one round trip through the server of each process: wait for a
      // few, bounded, rather than for everyone (the periodic announcements fill the rest).
      await new Promise((resolve) => setTimeout(resolve, WHO_WAIT_MS).unref());
      this.logger.debug(`${answers} processes answered who on ${this.subject}`);
      if (this.closed) return nc; // close() releases it
      this.timer = setInterval(() => {
        if (this.announced.size > 0 && !nc.isClosed()) this.send(nc, `${this.subject}.up`, [...this.announced.values()]);
      }, this.announceMs);
      this.timer.unref();
      return nc;
    })();
    return this.started;
  }

  private answer(nc: NatsConnection, reply: string): void {
    this.send(nc, reply, [...this.announced.values()]);
  }

  /** False when the connection is closing under us: nothing to tell anyone then. */
  private send(nc: NatsConnection, subject: string, value: unknown): boolean {
    try {
      nc.publish(subject, json(value));
      return true;
    } catch {
      return false;
    }
  }

  private learn(data: Uint8Array): void {
    let descriptors: unknown;
    try {
      descriptors = JSON.parse(decoder.decode(data));
    } catch {
      return;
    }
    if (!Array.isArray(descriptors)) return;
    let changed = false;
    for (const descriptor of descriptors as ServiceDescriptor[]) {
      if (typeof descriptor?.service !== 'string' || typeof descriptor.instance !== 'string' || descriptor.listeners?.nats === undefined) continue;
      const key = keyOf(descriptor);
      if (this.announced.has(key)) continue; // our own
      changed ||= !this.known.has(key);
      this.known.set(key, { descriptor, seenAt: Date.now() });
    }
    if (changed) this.notify();
  }

  private forget(data: Uint8Array): void {
    try {
      const gone = JSON.parse(decoder.decode(data)) as Pick<ServiceDescriptor, 'service' | 'instance' | 'host' | 'pid'>;
      if (this.known.delete(keyOf(gone))) this.notify();
    } catch {
      // not ours to understand
    }
  }

  private forgetSubject(subject: string): void {
    let changed = false;
    for (const [key, entry] of this.known) {
      if ((entry.descriptor.listeners.nats as { subject?: unknown } | undefined)?.subject === subject) changed = this.known.delete(key) || changed;
    }
    if (changed) this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * A flush that never holds a lookup, a start or a drain for long: a NATS link that hangs
 * silently is noticed by the client's pings only after minutes.
 */
async function boundedFlush(nc: NatsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([nc.flush().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_LIMIT_MS)))]);
  clearTimeout(timer);
}

const FLUSH_LIMIT_MS = 1000;
const WHO_WAIT_MS = 150;
const RETRY_MS = 5000;
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
const keyOf = (d: Pick<ServiceDescriptor, 'service' | 'instance' | 'host' | 'pid'>): string => `${d.host}/${d.pid}/${d.service}@${d.instance}`;

/** The directory of services on other hosts, through NATS; loaded only when `nats.servers` is configured. */
export const natsDirectoryModule = new ContainerModule(({ bind }) => {
  bind(NatsDirectory).toSelf().inSingletonScope();
  bind(REMOTE_DIRECTORY).toService(NatsDirectory);
});
