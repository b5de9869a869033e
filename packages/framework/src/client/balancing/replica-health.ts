/** A replica's health as its callers see it: a circuit breaker, fed by the outcome of each call. */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker (eject the replica). */
  failures: number;
  /** How long an open breaker keeps the replica out before one probe call may try it. */
  halfOpenAfterMs: number;
}

export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({ failures: 3, halfOpenAfterMs: 1000 });

/**
 * Consecutive-failure breaker per replica, written here rather than taken from cockatiel:
 * cockatiel's breaker can only be fed through `execute()` (a wrapper per call, measured at
 * +120–150 ns, +350 ns with its retry), its open → half-open move happens only inside the
 * next `execute()`, and it needs Node 22. Here the balancer asks `available()` and the
 * call's settlement reports `succeeded()` / `failed()`: no wrapper, no allocation.
 */
export class ReplicaHealth {
  state: BreakerState = 'closed';
  /** Times the breaker opened (the replica was ejected). */
  ejections = 0;
  private consecutive = 0;
  private openedAt = 0;
  private probing = false;

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER) {}

  /** Whether a call may go to this replica now; an open breaker past its wait lets one probe through. */
  available(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now - this.openedAt < this.options.halfOpenAfterMs) return false;
      this.state = 'half-open';
      this.probing = false;
    }
    return !this.probing;
  }

  /** A call is going to this replica (a half-open one takes no other until it answers). */
  started(): void {
    if (this.state === 'half-open') this.probing = true;
  }

  succeeded(): void {
    this.consecutive = 0;
    this.probing = false;
    this.state = 'closed';
  }

  failed(now: number): void {
    this.probing = false;
    if (this.state === 'half-open' || ++this.consecutive >= this.options.failures) {
      if (this.state !== 'open') this.ejections++;
      this.state = 'open';
      this.openedAt = now;
      this.consecutive = 0;
    }
  }
}
