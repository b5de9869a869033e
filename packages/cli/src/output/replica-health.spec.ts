import type { InstanceStatus } from '../supervisor/state';
import { callersView, seenByCallers } from './replica-health';
import { statusTable } from './status-table';

type Callers = NonNullable<NonNullable<InstanceStatus['health']>['callers']>;

const instance = (service: string, n: number, callers?: Callers): InstanceStatus => ({
  service,
  instance: n,
  pid: undefined,
  state: 'ready',
  restarts: 0,
  startedAt: undefined,
  lastExit: undefined,
  callsPerSecond: 0,
  health: { inFlight: 0, endpoints: [], events: [], transports: [], ...(callers ? { callers } : {}) } as unknown as InstanceStatus['health'],
});

const replica = (instance: string, breaker: string, inFlight: number, ejections: number) => ({ instance, kind: 'shm' as const, inFlight, breaker, ejections });

describe('hostmesh ps: replicas as the callers see them', () => {
  const a = instance('api', 0, { pricing: { replicas: [replica('0', 'closed', 2, 0), replica('1', 'half-open', 1, 1)], retries: 3, retriesRefused: 1 } });
  const b = instance('api', 1, { pricing: { replicas: [replica('0', 'closed', 5, 0), replica('1', 'open', 0, 2)], retries: 4, retriesRefused: 0 } });
  const pricing = [instance('pricing', 0), instance('pricing', 1)];

  it('takes the worst breaker any caller sees and adds up calls in flight, ejections and retries', () => {
    const view = callersView([a, b, ...pricing]);
    expect(pricing.map((p) => seenByCallers(view, p))).toEqual([
      { breaker: 'closed', inFlight: 7, ejections: 0 },
      { breaker: 'open', inFlight: 1, ejections: 3 },
    ]);
    expect(seenByCallers(view, a)).toBeUndefined();
    expect(view.retries).toEqual({ made: 7, refused: 1 });
  });

  it('shows the columns only when some caller balances across replicas', () => {
    const stream = { isTTY: false } as NodeJS.WriteStream;
    expect(statusTable(pricing, stream)).not.toContain('BREAKER');
    const shown = statusTable([a, ...pricing], stream);
    expect(shown).toMatch(/QUEUE\s+BREAKER\s+CALLERS-IN-FLIGHT\s+EJECTIONS\s+BINDINGS/);
    expect(shown).toMatch(/pricing@1\s.*\shalf-open\s+1\s+1\s/);
    expect(shown).toMatch(/api@0\s.*\s-\s+-\s+-\s/);
    expect(shown).toMatch(/retries by callers: 3 \(1 refused by the retry budget\)$/);
  });
});
