import { join } from 'node:path';
import { ConnectionLostError, ServiceUnavailableError } from '../../core/errors/errors';
import { Mesh } from '../../runtime/mesh';
import { describeTransportConformance } from '../../testing/conformance';
import { Conformance } from '../../testing/fixtures/conformance.contract';
import { spawnInWorker } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';
import { describeConnectionConformance } from '../../testing/connection-conformance';
import type { Connection, TransportAddress } from '../contract/transport';
import { ThreadTransport } from './thread.transport';

const FIXTURE = join(__dirname, '..', '..', 'testing', 'fixtures', 'conformance.main.ts');

// Both levels here, so that `npx jest thread` shows them (plugins/transport-plugins.int.spec.ts
// runs the first for every plugin too): connections in this thread, then a service in a worker
// thread of this test process, called from here.
describeConnectionConformance('thread');
describeTransportConformance('thread');

describe('thread transport, beyond the suites', () => {
  const runtime = tempRuntimeDir('hm-th-');
  afterAll(() => runtime.remove());

  it('refuses a second copy of a service in another thread of the same process', async () => {
    const env = { HOSTMESH_RUNTIME_DIR: runtime.path, HOSTMESH_NAMESPACE: 'twice', HOSTMESH_BINDINGS: JSON.stringify({ '*': 'thread' }) };
    const first = await spawnInWorker(FIXTURE, { env, ready: { service: 'conformance', runtimeDir: runtime.path, namespace: 'twice' } });
    try {
      const second = await spawnInWorker(FIXTURE, { env }).catch((error: Error) => error);
      expect(String(second)).toMatch(/exited with 1 before it was ready/);
      const mesh = Mesh.connect({ runtimeDir: runtime.path, namespace: 'twice', logLevel: 'silent' });
      await expect(mesh.client(Conformance).add(1, 2)).resolves.toBe(3);
      await mesh.close();
    } finally {
      await first.stop();
    }
  });

  it('ends a paused connection when its peer closes, and ends a connection whose peer never answers', async () => {
    const transport = new ThreadTransport({ ringBytes: 1 << 16 }, { namespace: 'paused' });
    let accepted: Connection | undefined;
    const server = await transport.listen({ service: 'paused', instance: '0', maxPayloadBytes: 1 << 20, onConnection: (c) => (accepted = c) });
    const client = await transport.connect(server.address, { maxPayloadBytes: 1 << 20, timeoutMs: 2000 });
    client.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: () => undefined });
    const closed = new Promise<Error | undefined>((resolve) =>
      accepted!.bind({ onFrame: () => undefined, onProtocolError: () => undefined, onClose: resolve }),
    );
    accepted!.pause();
    client.close();
    expect(await closed).toBeInstanceOf(ConnectionLostError);
    await server.dispose();
    const nobody = { ...server.address, channel: 'hostmesh.thread.nobody.listens' } as TransportAddress;
    await expect(transport.connect(nobody, { maxPayloadBytes: 1 << 20, timeoutMs: 200 })).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
