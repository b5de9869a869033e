import { isSharedMemory } from '@hostmesh/native';
import { performance } from 'node:perf_hooks';
import { CallAbortedError, QueueFullError, ServiceStoppingError, ServiceUnavailableError, TooManyConnectionsError } from '../../core/errors/errors';
import type { TransportKind } from '../../metadata/types';
import type { CallMetadata } from '../../protocol/metadata';
import { fromPeer, type RpcClient } from '../../rpc/rpc-client';
import { isAsyncIterable } from '../../rpc/streams/is-stream';
import type { BalanceStrategy, Replica, ReplicaSet } from './replica-set';
import { RetryBudget } from './retry-budget';

/** What the caller knows of an endpoint: where it goes, whether it may be called twice, how to balance it. */
export interface ResilientRoute {
  id: number;
  name: string;
  kind: TransportKind;
  idempotent: boolean;
  attemptTimeoutMs: number | undefined;
  strategy: BalanceStrategy;
  /** For 'key-hash': the key of a call's arguments. */
  key: ((...args: never[]) => string | number | undefined) | undefined;
}

/** Attempts of one call at most: the first and two retries. */
export const MAX_ATTEMPTS = 3;
/** A retry needs at least this much of the deadline left to be worth sending. */
const MIN_ATTEMPT_MS = 5;

/**
 * An error of a call that never reached a handler: never sent (this side's own error), or
 * refused at the service's door, which marks it `notRun`. The same classes from a handler
 * (its own downstream call failed) say nothing of the sort: the handler ran.
 */
export function neverReachedHandler(error: unknown): boolean {
  if (!(
    error instanceof ServiceStoppingError ||
    error instanceof QueueFullError ||
    error instanceof TooManyConnectionsError ||
    error instanceof ServiceUnavailableError
  )) {
    return false;
  }
  return !fromPeer(error) || (error as { data?: { notRun?: unknown } }).data?.notRun === true;
}

/** Whether the failure says something about the replica (it died, stalled, refused, or said "retry"), not about the call. */
function replicaFault(error: unknown): boolean {
  return (error as { retryable?: unknown } | null)?.retryable === true && !(error instanceof CallAbortedError);
}

/** Arguments that cannot be sent twice: a stream is consumed by the first attempt, a loan spent. */
function sendableAgain(args: readonly unknown[]): boolean {
  for (const arg of args) if (isAsyncIterable(arg) || (arg instanceof Uint8Array && isSharedMemory(arg))) return false;
  return true;
}

/**
 * Sends calls to one service with its replicas in mind: each call goes to the replica the
 * endpoint's strategy picks (least in flight by default); a call that fails with a
 * retryable error is sent again, to another replica where there is one, when the endpoint
 * is idempotent or the call never reached a handler, within its deadline, at most
 * MAX_ATTEMPTS times, and while the retry budget lasts. With one instance and an endpoint
 * not declared idempotent, a call is the plain rpc call it always was.
 */
export class ResilientCaller {
  readonly budget = new RetryBudget();

  constructor(
    /** The one connection per mechanism, to whichever instance is there (one instance, or the service is elsewhere). */
    private readonly single: (kind: TransportKind) => RpcClient,
    /** The replicas of a mechanism, when there are two or more here. */
    private readonly replicasOf: (kind: TransportKind) => ReplicaSet | undefined,
  ) {}

  call(
    route: ResilientRoute,
    args: unknown[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    headers: CallMetadata | undefined,
    sendDeadline: boolean,
  ): Promise<unknown> {
    const set = this.replicasOf(route.kind);
    if (set === undefined && !route.idempotent) return this.single(route.kind).call(route.id, route.name, args, timeoutMs, signal, headers, sendDeadline);
    this.budget.deposit();
    const call = new Attempts(this, route, args, performance.now() + timeoutMs, signal, headers, sendDeadline, set);
    return call.next(undefined);
  }

  /** The connection for an attempt that has no replica set to pick from. */
  rpc(kind: TransportKind): RpcClient {
    return this.single(kind);
  }
}

/** One call's attempts: which replica each went to, and whether another is due. */
class Attempts {
  private attempt = 0;

  constructor(
    private readonly owner: ResilientCaller,
    private readonly route: ResilientRoute,
    private readonly args: unknown[],
    private readonly deadline: number,
    private readonly signal: AbortSignal | undefined,
    private readonly headers: CallMetadata | undefined,
    private readonly sendDeadline: boolean,
    private readonly set: ReplicaSet | undefined,
  ) {}

  next(previous: Replica | undefined): Promise<unknown> {
    this.attempt++;
    const left = Math.max(1, this.deadline - performance.now());
    const route = this.route;
    const replica = this.set?.pick(route.strategy, this.keyOf(), previous);
    if (replica === undefined) {
      return this.owner
        .rpc(route.kind)
        .call(route.id, route.name, this.args, left, this.signal, this.headers, this.sendDeadline)
        .then(undefined, (error: unknown) => this.retry(error, undefined));
    }
    // An idempotent call does not wait its whole deadline on one replica (it may have stopped): another one can answer.
    const attemptMs = route.idempotent && this.set!.live.length > 1 && this.attempt < MAX_ATTEMPTS ? Math.min(left, route.attemptTimeoutMs ?? left / 2) : left;
    replica.inFlight++;
    return replica.rpc.call(route.id, route.name, this.args, attemptMs, this.signal, this.headers, this.sendDeadline).then(
      (value) => {
        replica.inFlight--;
        replica.health.succeeded();
        return value;
      },
      (error: unknown) => {
        replica.inFlight--;
        if (replicaFault(error)) replica.health.failed(performance.now());
        else replica.health.succeeded();
        return this.retry(error, replica);
      },
    );
  }

  private keyOf(): string | undefined {
    if (this.route.strategy !== 'key-hash' || this.route.key === undefined) return undefined;
    // A call whose arguments give no key is balanced by load.
    const key = (this.route.key as (...args: unknown[]) => unknown)(...this.args);
    return key === undefined ? undefined : String(key);
  }

  private retry(error: unknown, previous: Replica | undefined): Promise<unknown> {
    const route = this.route;
    const allowed =
      this.attempt < MAX_ATTEMPTS &&
      replicaFault(error) &&
      // Never reached a handler: safe to send anywhere, but only worth it where another replica can take it.
      (route.idempotent || (neverReachedHandler(error) && this.set !== undefined && this.set.live.length > 1)) &&
      this.signal?.aborted !== true &&
      sendableAgain(this.args);
    if (!allowed) return Promise.reject(error);
    const left = this.deadline - performance.now();
    // The first retry goes straight to another replica; later ones (or with none other) back off, with jitter.
    const another = this.set !== undefined && this.set.live.some((replica) => replica !== previous);
    const delay = another && this.attempt === 1 ? 0 : Math.min(left / 4, 10 * 2 ** this.attempt * (0.5 + Math.random()));
    if (left - delay < MIN_ATTEMPT_MS || !this.owner.budget.withdraw()) return Promise.reject(error);
    if (delay <= 0) return this.next(previous);
    return new Promise((resolve) => setTimeout(resolve, delay)).then(() => this.next(previous));
  }
}
