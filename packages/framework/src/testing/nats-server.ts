import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { sleep } from './spawn-service';

/** A nats-server child bound to loopback on a free port, for tests and benchmarks. */
export interface NatsServerProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the server printed, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process is reaped. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'install it with `apt-get install -y nats-server` (Debian/Ubuntu), or set HOSTMESH_NATS_SERVER_BIN to its path';

/** Finds the nats-server binary: HOSTMESH_NATS_SERVER_BIN, then PATH, then /usr/sbin (where Debian puts it). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOSTMESH_NATS_SERVER_BIN) return env.HOSTMESH_NATS_SERVER_BIN;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(`nats-server is not installed (looked in ${[...new Set(dirs)].join(', ')}): ${INSTALL_HINT}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `nats-server -a 127.0.0.1 -p <free port>` and waits until it accepts connections. */
export async function startNatsServer(
  options: { timeoutMs?: number; args?: string[]; /** A fixed port (a restart where clients expect it); default a free one. */ port?: number } = {},
): Promise<NatsServerProcess> {
  const binary = findNatsServer();
  const timeoutMs = options.timeoutMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let spawnError: Error | null = null;
    const gone = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        spawnError = error;
        running.delete(child);
        resolve();
      });
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        running.delete(child);
        resolve();
      });
    });
    const stop = async (): Promise<void> => {
      if (exited || spawnError) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    };
    const deadline = Date.now() + timeoutMs;
    while (!exited && !spawnError && Date.now() < deadline) {
      if (await accepts(port)) {
        return { url: `nats://127.0.0.1:${port}`, port, pid: child.pid!, output: () => output, stop };
      }
      await sleep(25);
    }
    await stop();
    if (spawnError) throw new Error(`cannot run ${binary}: ${(spawnError as Error).message}; ${INSTALL_HINT}`);
    // Someone else took the port between our probe and the server's bind: try another.
    if (attempt < 3 && options.port === undefined && /address already in use/i.test(output)) continue;
    throw new Error(`nats-server did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms (exit ${JSON.stringify(exited)}):\n${output}`);
  }
}

/**
 * For a jest file: a nats-server for the whole file, its URL in HOSTMESH_NATS_SERVERS (so
 * services spawned by the tests and every Mesh in this process use it), stopped and reaped
 * afterwards even when the tests fail. Register before the suites that need it.
 */
export function useNatsServer(hooks: {
  beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
  afterAll: (fn: () => Promise<void>, timeout?: number) => void;
}): { readonly server: NatsServerProcess } {
  const state: { server?: NatsServerProcess } = {};
  const previous = process.env.HOSTMESH_NATS_SERVERS;
  hooks.beforeAll(async () => {
    state.server = await startNatsServer();
    process.env.HOSTMESH_NATS_SERVERS = state.server.url;
  }, 20_000);
  hooks.afterAll(async () => {
    if (previous === undefined) delete process.env.HOSTMESH_NATS_SERVERS;
    else process.env.HOSTMESH_NATS_SERVERS = previous;
    await state.server?.stop();
  }, 10_000);
  return {
    get server() {
      if (!state.server) throw new Error('the nats-server has not started (beforeAll failed?)');
      return state.server;
    },
  };
}
