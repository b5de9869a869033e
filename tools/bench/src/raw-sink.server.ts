import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';

// The raw baseline for one-way traffic: a connection starts with the number of bytes
// that will follow (u64); the sink counts them and answers one byte when all arrived.
const path = process.argv[2]!;
try {
  unlinkSync(path);
} catch {
  // not there
}
const server = createServer((socket) => {
  let expected = -1;
  let received = 0;
  let header = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (expected < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < 8) return;
      expected = Number(header.readBigUInt64LE(0));
      received = header.length - 8;
    } else {
      received += chunk.length;
    }
    if (received >= expected) {
      socket.write(Buffer.from([1]));
      expected = -1;
      header = Buffer.alloc(0);
    }
  });
  socket.on('error', () => undefined);
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
