import { inject, injectable } from 'inversify';
import { MESH_CONFIG, type MeshConfig } from '../config/config';
import { LOGGER, type Logger } from '../core/logger';
import { ServiceRegistry } from '../discovery/service-registry';
import { eventPriority } from '../metadata/explorer';
import { RpcClient } from '../rpc/rpc-client';
import type { Transport, TransportAddress } from '../transports/contract/transport';

/**
 * Creates RpcClients with this process's limits and wakes them when the registry changes,
 * so a client waiting out a backoff reconnects as soon as its service is back.
 */
@injectable('Singleton')
export class RpcClientFactory {
  private readonly clients = new Set<RpcClient>();
  private readonly listeners = new Set<() => void>();
  private unwatch: (() => void) | null = null;
  readonly logger: Logger;

  constructor(
    @inject(MESH_CONFIG) private readonly config: MeshConfig,
    @inject(LOGGER) logger: Logger,
    @inject(ServiceRegistry) private readonly registry: ServiceRegistry,
  ) {
    this.logger = logger.child('client');
  }

  create(label: string, transport: Transport, resolve: () => Promise<TransportAddress>): RpcClient {
    const client = new RpcClient({
      label,
      transport,
      resolve,
      logger: this.logger,
      maxPayloadBytes: this.config.maxPayloadBytes,
      maxPendingCalls: this.config.maxPendingCalls,
      reconnect: this.config.reconnect,
      plainMsgpack: this.config.plainMsgpack,
      priorityOf: eventPriority,
    });
    this.clients.add(client);
    this.watch();
    return client;
  }

  /** Calls `listener` whenever the registry changes (an instance came or went), until close. */
  onRegistryChange(listener: () => void): void {
    this.listeners.add(listener);
    this.watch();
  }

  private watch(): void {
    this.unwatch ??= this.registry.watch(() => {
      for (const each of this.clients) each.nudge();
      for (const listener of this.listeners) listener();
    });
  }

  /** Waits (up to `timeoutMs`) until every client has nothing pending. */
  async drain(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const idle = Promise.all([...this.clients].map((client) => client.whenIdle())).then(() => true);
    const result = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Closes every client; resolves once their connections have flushed and closed (1 s at most). */
  async close(): Promise<void> {
    this.unwatch?.();
    this.unwatch = null;
    this.listeners.clear();
    const closing = [...this.clients].map((client) => client.close());
    this.clients.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }
}
