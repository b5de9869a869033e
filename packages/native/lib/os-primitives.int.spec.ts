import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFixture } from './__fixtures__/child-process';
import { mkfifo } from './fifo';
import { peerCredentials } from './peer-credentials';
import { PosixError } from './posix-error';
import { watchProcessExit } from './process-watch';

describe('FIFOs, peer credentials and process watches', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hm-native-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a FIFO with exactly the mode asked, whatever the umask, that another process writes into', async () => {
    const path = join(dir, 'quote.in');
    const previous = process.umask(0o077);
    try {
      mkfifo(path, 0o620);
    } finally {
      process.umask(previous);
    }
    const stat = statSync(path);
    expect(stat.isFIFO()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o620);
    const read = new Promise<string>((resolve) => {
      let text = '';
      createReadStream(path)
        .on('data', (chunk) => (text += chunk))
        .on('end', () => resolve(text));
    });
    spawn('sh', ['-c', `echo '{"symbol":"ACME"}' > ${path}`]);
    await expect(read).resolves.toBe('{"symbol":"ACME"}\n');
    expect(() => mkfifo(path)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'mkfifo', object: path }));
  });

  it('knows which process connected to a Unix socket, from the kernel', async () => {
    const path = join(dir, 'cred.sock');
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((socket) => {
        server.close();
        resolve(socket);
      }).listen(path);
    });
    const child = startFixture('uds-client', [path]);
    const socket = await accepted;
    const line = await child.waitFor(/^connected \d+$/);
    expect(peerCredentials(socket)).toEqual({ pid: Number(line.split(' ')[1]), uid: process.getuid!(), gid: process.getgid!() });
    socket.destroy();
    await child.exited;
  });

  it('refuses to read credentials of something that is not a socket', () => {
    expect(() => peerCredentials(0)).toThrow(PosixError);
    expect(() => peerCredentials({} as Socket)).toThrow('peerCredentials needs a connected Unix socket (or its fd)');
  });

  it('hears a watched process exit, through a pidfd', async () => {
    const child = startFixture('uds-client', [join(dir, 'nobody-listens.sock')]);
    const exited = new Promise<void>((resolve) => {
      const watch = watchProcessExit(child.process.pid!, resolve);
      expect(watch.mechanism).toBe('pidfd');
    });
    await exited; // the child exits on its own: its connection fails
  });

  it('reports a process that is already gone at once', async () => {
    const gone = startFixture('uds-client', [join(dir, 'none.sock')]);
    await gone.exited;
    await new Promise<void>((resolve) => watchProcessExit(gone.process.pid!, resolve));
  });
});
