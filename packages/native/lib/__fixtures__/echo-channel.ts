import { ShmChannel } from '../shm-channel';

/**
 * Opens (or creates, with `create`) a channel and sends back every message it receives,
 * reversed byte for byte so the test proves the bytes were read. Prints `ready`.
 */
const [name, mode, capacity] = process.argv.slice(2);
let channel: ShmChannel;
const pending: Buffer[] = [];
const onMessage = (buffer: Buffer, start: number, end: number) => {
  const reply = Buffer.from(buffer.subarray(start, end)).reverse();
  if (pending.length > 0 || !channel.send(reply)) {
    pending.push(reply);
    void flush();
  }
};
let flushing = false;
async function flush(): Promise<void> {
  if (flushing) return;
  flushing = true;
  while (pending.length > 0) {
    if (channel.send(pending[0]!)) pending.shift();
    else await channel.whenWritable(pending[0]!.length);
  }
  flushing = false;
}
/** What this end did (its doorbell rings, spins, wake-ups), for the test to read, then exits. */
const exit = () => {
  console.log(`stats ${JSON.stringify(channel.stats)}`);
  process.exit(0);
};
const options = { onMessage, onClose: exit, capacity: capacity ? Number(capacity) : undefined };
channel = mode === 'create' ? ShmChannel.create(name!, options) : ShmChannel.open(name!, options);
// The handler goes first: the test may send SIGTERM the moment it reads `ready`.
process.on('SIGTERM', () => {
  channel.close();
  exit();
});
console.log(`ready ${process.pid}`);
