import { Container } from 'inversify';
import { InvalidTransportError } from '../core/errors/errors';
import { resolveConfig, transportContext } from '../config/config';
import { ConsoleLogger, LOGGER } from '../core/logger';
import { RuntimeDir } from '../core/runtime-dir';
import { tempRuntimeDir } from '../testing/temp-runtime';
import { tcpPlugin } from './socket/tcp.plugin';
import { udsPlugin } from './socket/uds.plugin';
import { TRANSPORT_CONTEXT } from './contract/plugin';
import { TcpTransport } from './socket/tcp.transport';
import { UdsTransport } from './socket/uds.transport';
import { TransportRegistry } from './contract/transport-registry';
import type { Transport } from './contract/transport';

describe('TransportRegistry', () => {
  const temp = tempRuntimeDir();
  afterAll(() => temp.remove());

  function registry(): TransportRegistry {
    const container = new Container();
    const config = resolveConfig({}, {});
    const logger = new ConsoleLogger('test', 'silent');
    container.bind(LOGGER).toConstantValue(logger);
    container.bind(TRANSPORT_CONTEXT).toConstantValue(transportContext(config, RuntimeDir.open(temp.path, 'registry'), logger));
    container.load(udsPlugin.module({}), tcpPlugin.module(config.transports.tcp!));
    container.bind(TransportRegistry).toSelf();
    return container.get(TransportRegistry);
  }

  it('holds the transports that container modules registered', () => {
    expect(registry().kinds().sort()).toEqual(['tcp', 'uds']);
  });

  it('resolves a transport by kind and by class', () => {
    const transports = registry();
    expect(transports.resolve('uds')).toBeInstanceOf(UdsTransport);
    expect(transports.resolve(TcpTransport)).toBe(transports.resolve('tcp'));
  });

  it('resolves { type, options } to a configured transport', () => {
    const configured = registry().resolve({ type: 'tcp', options: { host: '127.0.0.2', port: 4100 } });
    expect(configured).toBeInstanceOf(TcpTransport);
    expect(configured).not.toBe(registry().resolve('tcp'));
  });

  it('names the registered transports when asked for an unknown kind', () => {
    expect(() => registry().resolve('carrier-pigeon')).toThrow(
      new InvalidTransportError("Invalid transport 'carrier-pigeon': registered transports are uds, tcp"),
    );
  });

  it('refuses a class that is not registered, and options for a transport that takes none', () => {
    class Unregistered implements Transport {
      readonly kind = 'shm' as const;
      listen = () => Promise.reject(new Error('unused'));
      connect = () => Promise.reject(new Error('unused'));
    }
    expect(() => registry().resolve(Unregistered)).toThrow("Invalid transport class 'Unregistered': it is not registered (registered: uds, tcp)");
    expect(() => registry().resolve({ type: 'uds', options: { path: '/x' } })).toThrow("Invalid transport options: transport 'uds' takes no options");
  });
});
