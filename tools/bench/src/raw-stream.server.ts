import { unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

/**
 * The raw baseline of the stream rows: a request of 8 bytes (count u32, size u32) asks for
 * `count` items of `size` bytes, each written as a u32 length and the item, one `write()` per
 * item (header and item gathered with cork/uncork from 16 KiB on), waiting for 'drain'
 * whenever `write()` returns false: the producer a careful `net` user would write.
 */
const path = process.argv[2]!;
/** From this size on the item goes out from its own Buffer (writev) rather than copied behind its header. */
const GATHER_BYTES = 16 * 1024;

try {
  unlinkSync(path);
} catch {
  // not there
}

function stream(socket: Socket, count: number, size: number): void {
  const item = Buffer.alloc(size, 5);
  const small = size < GATHER_BYTES;
  const head = Buffer.allocUnsafe(4 + (small ? size : 0));
  head.writeUInt32LE(size, 0);
  if (small) item.copy(head, 4);
  let sent = 0;
  const pump = (): void => {
    while (sent < count) {
      sent++;
      let more: boolean;
      if (small) more = socket.write(head);
      else {
        socket.cork();
        socket.write(head);
        more = socket.write(item);
        socket.uncork();
      }
      if (!more) {
        socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

const server = createServer((socket) => {
  let request = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    request = Buffer.concat([request, chunk]);
    while (request.length >= 8) {
      const count = request.readUInt32LE(0);
      const size = request.readUInt32LE(4);
      request = request.subarray(8);
      stream(socket, count, size);
    }
  });
  socket.on('error', () => undefined);
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
