import type { BindingRequest, TransportKind } from '../metadata/types';
import { TRANSPORT_KINDS } from '../plugins/transport-plugins';
import { bindingOverride, resolveBinding, type BindingQuery } from './binding-resolver';

const ALL = new Set<TransportKind>(TRANSPORT_KINDS);
const SOCKETS = new Set<TransportKind>(['uds', 'tcp']);

describe('resolveBinding', () => {
  const cases: Array<[string, Partial<BindingQuery>, TransportKind, TransportKind | undefined]> = [
    // description, query, chosen kind, fell back from
    ['auto endpoint on one host takes shm', { requested: 'auto', purpose: 'endpoint' }, 'shm', undefined],
    ['auto event on one host takes mqueue', { requested: 'auto', purpose: 'event' }, 'mqueue', undefined],
    ['auto across hosts takes tcp', { requested: 'auto', sameHost: false }, 'tcp', undefined],
    ['socket on one host is uds', { requested: 'socket' }, 'uds', undefined],
    ['socket across hosts is tcp', { requested: 'socket', sameHost: false }, 'tcp', undefined],
    ['an explicit mechanism is kept', { requested: 'fifo' }, 'fifo', undefined],
    ['the override beats the decorator', { requested: 'shm', override: 'tcp' }, 'tcp', undefined],
    ['an override of auto resolves like auto', { requested: 'tcp', override: 'auto' }, 'shm', undefined],
    ['shm without its transport falls back to uds', { requested: 'shm', available: SOCKETS }, 'uds', 'shm'],
    ['mqueue without its transport falls back to uds', { requested: 'auto', purpose: 'event', available: SOCKETS }, 'uds', 'mqueue'],
    ['uds without its transport falls back to tcp', { requested: 'uds', available: new Set(['tcp']) }, 'tcp', 'uds'],
    ['nats without its transport falls back to tcp', { requested: 'nats', available: SOCKETS }, 'tcp', 'nats'],
    ['a local-only mechanism to another host becomes tcp', { requested: 'shm', sameHost: false }, 'tcp', 'shm'],
  ];

  it.each(cases)('%s', (_description, query, kind, from) => {
    const decision = resolveBinding({ requested: 'auto', purpose: 'endpoint', sameHost: true, available: ALL, ...query });
    expect(decision.kind).toBe(kind);
    expect(decision.fallback?.from).toBe(from);
    if (from) expect(decision.fallback!.reason.length).toBeGreaterThan(10);
  });

  it('fails naming the plugins for a kind no plugin has', () => {
    expect(() => resolveBinding({ requested: 'carrier-pigeon' as TransportKind, purpose: 'endpoint', sameHost: true, available: ALL })).toThrow(
      `unknown transport 'carrier-pigeon': the plugins are ${TRANSPORT_KINDS.join(', ')}`,
    );
  });

  it('fails naming what is registered when nothing can carry the binding', () => {
    expect(() => resolveBinding({ requested: 'tcp', purpose: 'endpoint', sameHost: true, available: new Set(['uds']) })).toThrow(
      "no transport can carry a 'tcp' binding: registered transports are uds",
    );
  });
});

describe('bindingOverride', () => {
  const bindings: Record<string, BindingRequest> = { '*': 'uds', 'pricing.*': 'tcp', quote: 'shm', 'pricing.quote': 'fifo' };

  it('prefers service.name, then name, then service.*, then *', () => {
    expect(bindingOverride(bindings, 'pricing', 'quote')).toBe('fifo');
    expect(bindingOverride(bindings, 'orders', 'quote')).toBe('shm');
    expect(bindingOverride(bindings, 'pricing', 'symbols')).toBe('tcp');
    expect(bindingOverride(bindings, 'orders', 'list')).toBe('uds');
    expect(bindingOverride({}, 'orders', 'list')).toBeUndefined();
  });
});
