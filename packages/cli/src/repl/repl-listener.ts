import { defineContract, EventType, On, Service, ServiceHost } from '@hostmesh/framework';

/**
 * What `subscribe <event>` runs: a small service of the REPL's own, subscribed to the events
 * asked for, over Unix sockets only (a durable queue would outlive the REPL and keep events
 * for nobody). Its subscriptions are fixed when it starts, so a change starts a new one.
 */
export class ReplListener {
  private host: ServiceHost | undefined;
  private readonly events = new Set<string>();

  constructor(
    private readonly namespace: string,
    private readonly runtimeDir: string | undefined,
    private readonly print: (event: string, body: object) => void,
  ) {}

  get subscribed(): string[] {
    return [...this.events].sort();
  }

  async subscribe(event: string): Promise<void> {
    await this.change(new Set([...this.events, event]));
  }

  async unsubscribe(event: string): Promise<boolean> {
    if (!this.events.has(event)) return false;
    await this.change(new Set([...this.events].filter((e) => e !== event)));
    return true;
  }

  /** Starts a listener for `events`; if that fails (a bad event name), the one before is started again. */
  private async change(events: Set<string>): Promise<void> {
    const before = [...this.events];
    this.events.clear();
    for (const event of events) this.events.add(event);
    try {
      await this.restart();
    } catch (error) {
      this.events.clear();
      for (const event of before) this.events.add(event);
      await this.restart();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.host?.stop('repl closed');
    this.host = undefined;
  }

  private async restart(): Promise<void> {
    await this.close();
    if (this.events.size === 0) return;
    this.host = await ServiceHost.start(listenerClass(`repl-${process.pid}`, this.subscribed, this.print), {
      namespace: this.namespace,
      runtimeDir: this.runtimeDir,
      logLevel: 'silent',
      bindings: { '*': 'uds' },
    });
  }
}

/** A service class made at run time: one @On handler per event name, each printing what arrives. */
function listenerClass(name: string, events: string[], print: (event: string, body: object) => void): new () => object {
  class Listener {}
  events.forEach((event, index) => {
    class Received {}
    EventType(event)(Received);
    const method = `on${index}`;
    Object.defineProperty(Listener.prototype, method, { value: (body: object) => print(event, body), writable: true, configurable: true });
    On(Received)(Listener.prototype, method, Object.getOwnPropertyDescriptor(Listener.prototype, method)!);
  });
  Service(defineContract(name))(Listener);
  return Listener;
}
