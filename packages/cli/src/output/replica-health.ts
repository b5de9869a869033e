import type { InstanceStatus } from '../supervisor/state';

export type BreakerState = 'closed' | 'half-open' | 'open';

/** One instance as the deployment's callers see it, added up over every caller that balances across its replicas. */
export interface SeenByCallers {
  /** The worst any caller sees. */
  breaker: BreakerState;
  /** Calls the callers have out to it, summed. */
  inFlight: number;
  /** Times a caller's breaker opened on it, summed. */
  ejections: number;
}

export interface CallersView {
  /** By `service@instance`; an instance no caller balances over is not in it. */
  byInstance: Map<string, SeenByCallers>;
  /** Retries made by every caller, and those its retry budget refused. */
  retries: { made: number; refused: number };
  /** Whether any caller reported a view at all. */
  any: boolean;
}

const WORSE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** From the `callers` of each instance's last health report. */
export function callersView(instances: readonly InstanceStatus[]): CallersView {
  const byInstance = new Map<string, SeenByCallers>();
  const retries = { made: 0, refused: 0 };
  let any = false;
  for (const caller of instances) {
    for (const [service, view] of Object.entries(caller.health?.callers ?? {})) {
      any = true;
      retries.made += view.retries;
      retries.refused += view.retriesRefused;
      for (const replica of view.replicas) {
        const key = `${service}@${replica.instance}`;
        const seen = byInstance.get(key) ?? { breaker: 'closed', inFlight: 0, ejections: 0 };
        const breaker = replica.breaker in WORSE ? (replica.breaker as BreakerState) : 'closed';
        if (WORSE[breaker] > WORSE[seen.breaker]) seen.breaker = breaker;
        seen.inFlight += replica.inFlight;
        seen.ejections += replica.ejections;
        byInstance.set(key, seen);
      }
    }
  }
  return { byInstance, retries, any };
}

/** What the callers see of this instance; undefined for one on another host (callers balance only over this host's). */
export function seenByCallers(view: CallersView, instance: InstanceStatus): SeenByCallers | undefined {
  if (instance.state === 'remote') return undefined;
  return view.byInstance.get(`${instance.service}@${instance.instance}`);
}
