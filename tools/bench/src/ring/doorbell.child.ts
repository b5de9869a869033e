import { FdWatcher, native } from '@hostmesh/native';

/**
 * Answers every wake-up on its doorbell with a wake-up on the parent's: a ping-pong made
 * only of doorbells, to compare a named FIFO with an inherited eventfd.
 * argv: fifo <mine> <theirs> | eventfd (fds 3 and 4 inherited)
 */
const [kind, mine, theirs] = process.argv.slice(2);
const own = kind === 'fifo' ? native.doorbellOpen(mine!) : 3;
const peer = kind === 'fifo' ? native.doorbellOpen(theirs!) : 4;
new FdWatcher(own, () => {
  native.doorbellDrain(own);
  native.doorbellRing(peer);
}).start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
