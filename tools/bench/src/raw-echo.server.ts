import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';

// The raw baseline: echo every byte back on the same Unix socket.
const path = process.argv[2]!;
try {
  unlinkSync(path);
} catch {
  // not there
}
const server = createServer((socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => undefined);
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
