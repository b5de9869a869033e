import { resolveBinding, type BindingQuery } from '../../binding/binding-resolver';
import type { TransportKind } from '../../metadata/types';
import { TRANSPORT_KINDS } from '../../plugins/transport-plugins';

// How the resolver treats thread, from its plugin's capabilities (sameProcessOnly) and fallback.
const ALL = new Set<TransportKind>(TRANSPORT_KINDS);

describe('resolveBinding of thread', () => {
  const cases: Array<[string, Partial<BindingQuery>, TransportKind, TransportKind | undefined]> = [
    ['thread to a service in this process is kept', { requested: 'thread', sameProcess: true }, 'thread', undefined],
    ['thread to a service listening for it (process unknown) is kept', { requested: 'thread' }, 'thread', undefined],
    ['thread to another process takes its fallback, uds (every service listens on it)', { requested: 'thread', sameProcess: false }, 'uds', 'thread'],
    ['thread to another process without uds takes tcp', { requested: 'thread', sameProcess: false, available: new Set(['tcp', 'thread']) }, 'tcp', 'thread'],
    ['thread to another host becomes tcp', { requested: 'thread', sameHost: false, sameProcess: false }, 'tcp', 'thread'],
  ];

  it.each(cases)('%s', (_description, query, kind, from) => {
    const decision = resolveBinding({ requested: 'auto', purpose: 'endpoint', sameHost: true, available: ALL, ...query });
    expect(decision.kind).toBe(kind);
    expect(decision.fallback?.from).toBe(from);
  });

  it('says why a binding fell back from thread', () => {
    expect(resolveBinding({ requested: 'thread', purpose: 'endpoint', sameHost: true, sameProcess: false, available: ALL }).fallback?.reason).toBe(
      'thread reaches only threads of its own process',
    );
  });
});
