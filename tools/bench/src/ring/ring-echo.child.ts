import { ShmChannel } from '@hostmesh/native';

/**
 * The far end of the ring ping-pong: opens the channel by name and sends every message
 * back (one copy, from the inbound ring into the outbound one). Prints `ready`.
 */
const name = process.argv[2]!;
const backlog: Buffer[] = [];
let channel: ShmChannel;

function flush(): void {
  while (backlog.length > 0 && channel.send(backlog[0]!)) backlog.shift();
  if (backlog.length > 0) void channel.whenWritable(backlog[0]!.length).then(flush);
}

channel = ShmChannel.open(name, {
  onMessage: (buffer, start, end) => {
    const message = buffer.subarray(start, end);
    if (backlog.length === 0 && channel.send(message)) return;
    backlog.push(Buffer.from(message));
    flush();
  },
  onClose: () => process.exit(0),
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  channel.close();
  process.exit(0);
});
