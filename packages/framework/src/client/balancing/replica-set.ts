import { performance } from 'node:perf_hooks';
import { routeId } from '../../protocol/route-id';
import type { RpcClient } from '../../rpc/rpc-client';
import { ReplicaHealth, type BreakerOptions } from './replica-health';

/** How a call picks among a service's live replicas. */
export type BalanceStrategy = 'least-in-flight' | 'round-robin' | 'key-hash';

/** One instance of a service, as its callers see it: a connection (opened on first use), calls in flight, health. */
export interface Replica {
  readonly instance: string;
  readonly rpc: RpcClient;
  inFlight: number;
  readonly health: ReplicaHealth;
  /** In the registry now; a replica that left takes no calls. */
  live: boolean;
}

/**
 * The live replicas of one service over one mechanism, and the choice of one per call:
 * least calls in flight (ties in turn), in turn, or by a key's hash (rendezvous hashing:
 * a key stays on its replica while the set is stable, and only the keys of a replica that
 * leaves move). A replica whose breaker is open is passed over while another can take the call.
 */
export class ReplicaSet {
  private replicas: Replica[] = [];
  /** Every replica seen: one that comes back (a restart keeps its name) keeps its connection. */
  private readonly known = new Map<string, Replica>();
  private turn = 0;

  constructor(
    private readonly connect: (instance: string) => RpcClient,
    private readonly breaker?: BreakerOptions,
  ) {}

  /** The replicas that are in the registry now. */
  get live(): readonly Replica[] {
    return this.replicas;
  }

  /** Takes the registry's instances; the calls waiting for a replica that left fail at once (to be retried elsewhere). */
  update(instances: readonly string[]): void {
    const live: Replica[] = [];
    for (const instance of instances) {
      let replica = this.known.get(instance);
      if (replica === undefined) {
        replica = { instance, rpc: this.connect(instance), inFlight: 0, health: new ReplicaHealth(this.breaker), live: true };
        this.known.set(instance, replica);
      }
      replica.live = true;
      live.push(replica);
    }
    for (const replica of this.replicas) {
      if (live.includes(replica)) continue;
      replica.live = false;
      replica.rpc.abandonWaiting(`instance ${replica.instance} left the registry`);
    }
    live.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
    this.replicas = live;
  }

  /**
   * The replica for the next call, other than `avoid` where there is another; undefined when
   * there is none. `reports`: the caller will report the outcome (a stream does not), so a
   * half-open replica may take it as its probe.
   */
  pick(strategy: BalanceStrategy, key: string | undefined, avoid?: Replica, reports = true): Replica | undefined {
    const replicas = this.replicas;
    const count = replicas.length;
    if (count === 0) return undefined;
    const now = performance.now();
    let chosen: Replica | undefined;
    if (strategy === 'key-hash' && key !== undefined) {
      let best = -1;
      for (const replica of replicas) {
        if (replica === avoid || !replica.health.available(now)) continue;
        const weight = routeId(`${key}\u0000${replica.instance}`);
        if (weight > best) {
          best = weight;
          chosen = replica;
        }
      }
    } else {
      const start = this.turn++ % count;
      for (let i = 0; i < count; i++) {
        const replica = replicas[(start + i) % count]!;
        if (replica === avoid || !replica.health.available(now)) continue;
        if (strategy === 'round-robin') {
          chosen = replica;
          break;
        }
        if (chosen === undefined || replica.inFlight < chosen.inFlight) chosen = replica;
      }
    }
    // Every other breaker is open: one of them still beats failing at once.
    if (chosen === undefined) chosen = replicas.find((replica) => replica !== avoid) ?? avoid;
    if (reports) chosen?.health.started();
    return chosen;
  }
}
