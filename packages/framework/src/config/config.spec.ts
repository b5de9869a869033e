import { BootstrapError } from '../core/errors/errors';
import { resolveConfig } from './config';

describe('resolveConfig', () => {
  it('applies defaults', () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({
      namespace: 'default',
      instance: '0',
      defaultTimeoutMs: 5000,
      maxPayloadBytes: 64 * 1024 * 1024,
      transports: { uds: {}, fifo: {}, tcp: { host: '127.0.0.1', port: 0, enabled: false, insecure: false }, shm: { ringBytes: 1 << 20, spin: {} } },
      logLevel: 'info',
      bindings: {},
    });
    // NATS is enabled only by servers: without them its plugin is not there at all.
    expect(config.transports.nats).toBeUndefined();
    expect(config.transports.mqueue?.inFlight).toBe(64);
  });

  it('gives each transport plugin its own slice of the options and the environment', () => {
    const config = resolveConfig(
      { shm: { ringBytes: 1 << 16 }, mqueue: { depth: 4, messageSize: 1024 } },
      { HOSTMESH_TCP_PORT: '4100', HOSTMESH_MQUEUE_IN_FLIGHT: '8' },
    );
    expect(config.transports.shm).toEqual({ ringBytes: 1 << 16, poolBytes: 128 << 20, spin: {} });
    expect(resolveConfig({}, { HOSTMESH_SHM_POOL_BYTES: '0' }).transports.shm?.poolBytes).toBe(0);
    expect(() => resolveConfig({ shm: { poolBytes: 100_000 } }, {})).toThrow('invalid option shm.poolBytes=100000: expected a multiple of 65536');
    expect(config.transports.mqueue).toEqual({ depth: 4, messageSize: 1024, inFlight: 8 });
    expect(config.transports.tcp?.port).toBe(4100);
    expect(() => resolveConfig({}, { HOSTMESH_SHM_RING_BYTES: 'lots' })).toThrow('invalid option HOSTMESH_SHM_RING_BYTES="lots": expected a number');
    expect(() => resolveConfig({ shm: { ringBytes: 5000 } }, {})).toThrow('invalid option shm.ringBytes=5000: expected a power of two');
  });

  it('reads HOSTMESH_* variables, and options win over them', () => {
    const env = { HOSTMESH_NAMESPACE: 'staging', HOSTMESH_INSTANCE: '2', HOSTMESH_LOG_LEVEL: 'warn', HOSTMESH_BINDINGS: '{"*":"tcp","quote":"uds"}' };
    expect(resolveConfig({}, env)).toMatchObject({ namespace: 'staging', instance: '2', logLevel: 'warn', bindings: { '*': 'tcp', quote: 'uds' } });
    expect(resolveConfig({ namespace: 'prod', bindings: { quote: 'shm' } }, env)).toMatchObject({
      namespace: 'prod',
      bindings: { '*': 'tcp', quote: 'shm' },
    });
  });

  it.each([
    [{ namespace: '../escape' }, 'invalid option namespace="../escape"'],
    [{ defaultTimeoutMs: -1 }, 'invalid option defaultTimeoutMs=-1: expected a number in 1..'],
    [{ maxPayloadBytes: 2 ** 33 }, 'invalid option maxPayloadBytes=8589934592'],
    [{ tcp: { port: 70000 } }, 'invalid option tcp.port=70000: expected an integer in 0..65535'],
    [{ bindings: { quote: 'telepathy' as never } }, 'invalid option bindings.quote="telepathy"'],
  ])('names the bad option %p', (options, message) => {
    expect(() => resolveConfig(options, {})).toThrow(BootstrapError);
    expect(() => resolveConfig(options, {})).toThrow(message);
  });

  it('reads endpoint policies from HOSTMESH_ENDPOINTS, naming the bad value by its path', () => {
    const policies = { quote: { idempotent: true, bulkhead: { limit: 2, queue: 1 }, balance: 'round-robin' } };
    expect(resolveConfig({}, { HOSTMESH_ENDPOINTS: JSON.stringify(policies) }).endpoints).toEqual(policies);
    expect(() => resolveConfig({}, { HOSTMESH_ENDPOINTS: '{"quote":{"bulkhead":{"limit":0}}}' })).toThrow('HOSTMESH_ENDPOINTS.quote.bulkhead.limit');
    expect(() => resolveConfig({}, { HOSTMESH_ENDPOINTS: '{"quote":{"retries":3}}' })).toThrow('HOSTMESH_ENDPOINTS.quote.retries');
    expect(() => resolveConfig({}, { HOSTMESH_ENDPOINTS: 'idempotent' })).toThrow('HOSTMESH_ENDPOINTS');
  });

  it('names HOSTMESH_BINDINGS when it is not a JSON object', () => {
    expect(() => resolveConfig({}, { HOSTMESH_BINDINGS: 'tcp' })).toThrow('invalid option HOSTMESH_BINDINGS="tcp": expected a JSON object');
  });
});
