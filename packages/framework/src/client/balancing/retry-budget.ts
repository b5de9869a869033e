/**
 * How many retries a client may make: a token bucket that each first attempt fills by
 * `ratio` and each retry empties by one, so retries stay near `ratio` of the load (10 % by
 * default) and cannot multiply an outage. `reserve` tokens to start with (and at most) let
 * a quiet client retry the few calls it makes. (cockatiel has no retry budget.)
 */
export class RetryBudget {
  private tokens: number;
  /** Retries refused because the budget was spent. */
  refused = 0;
  /** Retries made. */
  spent = 0;

  constructor(
    private readonly ratio = 0.1,
    private readonly reserve = 10,
  ) {
    this.tokens = reserve;
  }

  /** A first attempt: it earns the budget a fraction of a retry. */
  deposit(): void {
    if (this.tokens < this.reserve) this.tokens = Math.min(this.reserve, this.tokens + this.ratio);
  }

  /** Takes one retry's token; false when none is left. */
  withdraw(): boolean {
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.spent++;
      return true;
    }
    this.refused++;
    return false;
  }
}
