import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startConformance, tearDown, until } from '../../faults/faults.testing';
import { FrameKind, HEADER_BYTES, writeHeader } from '../../protocol/frame';
import { Mesh } from '../../runtime/mesh';
import { Conformance } from '../../testing/fixtures/conformance.contract';
import { useNatsServer } from '../../testing/nats-server';
import { rawChannelFactory, type RawChannel } from '../../testing/raw-channel';
import type { SpawnedService } from '../../testing/spawn-service';
import { tempRuntimeDir } from '../../testing/temp-runtime';

/**
 * Frames arriving over NATS take their size from the service's budget for frames in
 * progress like those on sockets and shm: peers announcing 64 MiB frames over a real
 * nats-server, against a service whose budget holds one of them.
 */
const MiB = 1024 * 1024;
const BUDGET = 100 * MiB;

describe('nats: the budget for frames in progress', () => {
  useNatsServer({ beforeAll, afterAll });
  const runtime = tempRuntimeDir('hm-nb-');
  const namespace = `nats-budget-${process.pid}`;
  let server: SpawnedService;
  let mesh: Mesh;
  const channels: RawChannel[] = [];
  beforeAll(async () => {
    server = await startConformance('nats', runtime.path, namespace, {
      CONFORMANCE_MAX_PAYLOAD: String(64 * MiB),
      HOSTMESH_MAX_BUFFERED_BYTES: String(BUDGET),
    });
    mesh = Mesh.connect({ runtimeDir: runtime.path, namespace, logLevel: 'silent' });
  }, 30_000);
  afterAll(async () => {
    for (const channel of channels) channel.close();
    await tearDown({ mesh, processes: [server], namespace, runtime });
  }, 30_000);

  it('drops a peer whose announced frame would go past the budget, and serves the others', async () => {
    const [descriptor] = await mesh.registry.lookup('conformance');
    for (let i = 0; i < 3; i++) {
      const channel = await rawChannelFactory('nats')(descriptor!);
      channels.push(channel);
      const header = Buffer.alloc(HEADER_BYTES);
      writeHeader(header, FrameKind.Request, 0, 1, 1, 64 * MiB);
      channel.write(header);
    }
    const refused = () => server.output.split('\n').filter((line) => line.includes(`would take the service past its budget of ${BUDGET} bytes`)).length;
    await until(() => refused() === 2, 10_000, 'two of three peers refused');
    await expect(mesh.client(Conformance).add(2, 3)).resolves.toBe(5);
  }, 30_000);
});
