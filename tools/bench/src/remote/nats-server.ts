import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

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

/**
 * Starts nats-server on `host` (127.0.0.1 by default; an address inside a network namespace
 * the bench created, with `prefix` = `ip netns exec …`) and resolves once it says it is ready.
 */
export async function startNatsServer(options: { host?: string; prefix?: string[] } = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const host = options.host ?? '127.0.0.1';
  // A free port in this namespace; inside another one any port is as likely to be free.
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const argv = [...(options.prefix ?? []), findNatsServer(), '-a', host, '-p', String(port)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  process.on('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`nats-server did not start on ${host}:${port} within 10 s`), 10_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${why}: ${log.trim().split('\n').slice(-3).join(' | ')}`));
    };
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/Server is ready/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => fail(`nats-server exited with ${code}`));
  });
  child.stderr!.resume();
  return {
    url: `nats://${host}:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
