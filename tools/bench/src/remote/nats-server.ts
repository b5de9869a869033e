import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';

// The bench's own copy of the test helper (packages/framework/src/testing/nats-server.ts):
// the framework's testing entry point needs jest, the bench runs under plain node.

/** nats-server from HOSTMESH_NATS_SERVER_BIN, PATH or /usr/sbin (Debian's place for it). */
export function findNatsServer(): string {
  if (process.env.HOSTMESH_NATS_SERVER_BIN) return process.env.HOSTMESH_NATS_SERVER_BIN;
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    try {
      accessSync(`${dir}/nats-server`, constants.X_OK);
      return `${dir}/nats-server`;
    } catch {
      // next
    }
  }
  throw new Error('nats-server is not installed: apt-get install -y nats-server');
}

/** Starts nats-server on 127.0.0.1 and a free port; resolves once it accepts connections. */
export async function startNatsServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const child = spawn(findNatsServer(), ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  process.on('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not start on 127.0.0.1:${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
