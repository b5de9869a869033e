import { rmSync } from 'node:fs';
import { Router } from 'zeromq';

/**
 * The ZeroMQ peer: a Router socket bound to ipc://<path> (a Unix socket, no TCP) that
 * sends every message back to the Dealer it came from: [identity, ...frames] out as in.
 */
async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: zeromq-echo.server <socket path>');
  rmSync(path, { force: true });
  // mandatory: at the high-water mark send() waits instead of dropping the reply.
  const router = new Router({ linger: 0, mandatory: true });
  await router.bind(`ipc://${path}`);
  process.on('SIGTERM', () => {
    router.close();
    rmSync(path, { force: true });
    process.exit(0);
  });
  process.stdout.write('ready\n');
  for await (const frames of router) {
    // A dealer that went away between its request and our reply: nothing to send it to.
    await router.send(frames).catch(() => undefined);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`zeromq-echo.server: ${error.message}\n`);
  process.exit(1);
});
