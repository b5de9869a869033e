import { BootstrapError } from '../errors/errors';
import { resolveConfig } from './config';

describe('resolveConfig', () => {
  it('applies defaults', () => {
    const config = resolveConfig({}, {});
    expect(config).toMatchObject({
      namespace: 'default',
      instance: '0',
      defaultTimeoutMs: 5000,
      maxPayloadBytes: 64 * 1024 * 1024,
      tcp: { host: '127.0.0.1', port: 0, enabled: false },
      logLevel: 'info',
      bindings: {},
    });
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

  it('names HOSTMESH_BINDINGS when it is not a JSON object', () => {
    expect(() => resolveConfig({}, { HOSTMESH_BINDINGS: 'tcp' })).toThrow('invalid option HOSTMESH_BINDINGS="tcp": expected a JSON object');
  });
});
