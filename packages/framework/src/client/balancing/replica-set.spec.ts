import type { RpcClient } from '../../rpc/rpc-client';
import { ReplicaHealth } from './replica-health';
import { ReplicaSet } from './replica-set';
import { RetryBudget } from './retry-budget';

// The choice of replica is pure bookkeeping over the registry's instances; the calls
// themselves are tested against real replicas in faults/replicas.faults.int.spec.ts.
const abandoned: string[] = [];
const connect = (instance: string) => ({ label: instance, abandonWaiting: (why: string) => abandoned.push(`${instance}: ${why}`) }) as unknown as RpcClient;

describe('ReplicaSet', () => {
  it('round-robin takes each live replica in turn', () => {
    const set = new ReplicaSet(connect);
    set.update(['2', '0', '1']);
    const picks = Array.from({ length: 9 }, () => set.pick('round-robin', undefined)!.instance);
    expect(picks.filter((i) => i === '0')).toHaveLength(3);
    expect(picks.filter((i) => i === '1')).toHaveLength(3);
    expect(picks.filter((i) => i === '2')).toHaveLength(3);
  });

  it('least-in-flight takes the replica with the fewest calls out, and avoids the one a retry left', () => {
    const set = new ReplicaSet(connect);
    set.update(['0', '1', '2']);
    const [a, b, c] = set.live;
    a!.inFlight = 5;
    b!.inFlight = 1;
    c!.inFlight = 3;
    expect(set.pick('least-in-flight', undefined)!.instance).toBe('1');
    expect(set.pick('least-in-flight', undefined, b)!.instance).toBe('2');
  });

  it('key-hash keeps a key on one replica, and moves only the keys of a replica that leaves', () => {
    const set = new ReplicaSet(connect);
    set.update(['0', '1', '2']);
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const first = new Map(keys.map((key) => [key, set.pick('key-hash', key)!.instance]));
    for (const key of keys) expect(set.pick('key-hash', key)!.instance).toBe(first.get(key));
    const spread = new Set(first.values());
    expect(spread.size).toBe(3);
    set.update(['0', '2']);
    expect(abandoned).toContain('1: instance 1 left the registry');
    for (const key of keys) {
      const now = set.pick('key-hash', key)!.instance;
      if (first.get(key) !== '1') expect(now).toBe(first.get(key));
      else expect(['0', '2']).toContain(now);
    }
  });

  it('passes over a replica whose breaker is open, lets one probe through after the wait, and closes on success', () => {
    const set = new ReplicaSet(connect, { failures: 2, halfOpenAfterMs: 30 });
    set.update(['0', '1']);
    const zero = set.live[0]!;
    zero.health.failed(performance.now());
    zero.health.failed(performance.now());
    expect(zero.health.state).toBe('open');
    expect(zero.health.ejections).toBe(1);
    for (let i = 0; i < 10; i++) expect(set.pick('round-robin', undefined)!.instance).toBe('1');
    const until = performance.now() + 40;
    while (performance.now() < until) {
      // wait out halfOpenAfterMs
    }
    const picks = Array.from({ length: 4 }, () => set.pick('round-robin', undefined)!.instance);
    // One probe only while it is out.
    expect(picks.filter((i) => i === '0')).toHaveLength(1);
    expect(zero.health.state).toBe('half-open');
    zero.health.succeeded();
    expect(zero.health.state).toBe('closed');
  });

  it('still picks an open replica when every one is open: trying beats failing at once', () => {
    const set = new ReplicaSet(connect, { failures: 1, halfOpenAfterMs: 60_000 });
    set.update(['0']);
    set.live[0]!.health.failed(performance.now());
    expect(set.pick('least-in-flight', undefined)!.instance).toBe('0');
  });
});

describe('ReplicaHealth and RetryBudget', () => {
  it('a failed probe opens the breaker again', () => {
    const health = new ReplicaHealth({ failures: 1, halfOpenAfterMs: 0 });
    health.failed(0);
    expect(health.available(1)).toBe(true);
    health.started();
    expect(health.available(1)).toBe(false);
    health.failed(1);
    expect(health.state).toBe('open');
    expect(health.ejections).toBe(2);
  });

  it('allows retries up to a tenth of the calls, beyond a reserve of ten', () => {
    const budget = new RetryBudget(0.1, 10);
    let allowed = 0;
    for (let call = 0; call < 1000; call++) {
      budget.deposit();
      if (budget.withdraw()) allowed++;
    }
    expect(allowed).toBeLessThanOrEqual(1000 * 0.1 + 10);
    expect(allowed).toBeGreaterThanOrEqual(100);
    expect(budget.refused).toBe(1000 - allowed);
  });
});
