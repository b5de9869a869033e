import { randomBytes, randomInt } from 'node:crypto';
import { native } from '../native';
import { doorbellPaths } from '../shm-channel';
import { ShmSegment } from '../shm-segment';

/**
 * A hostile opener: maps a live channel's segment by name (no ShmChannel), fills the
 * opener → creator ring with garbage and random heads, and rings the creator's doorbell,
 * `rounds` times, then publishes a head no ring can hold. Offsets are the channel layout's.
 */
const [name, rounds] = process.argv.slice(2);
const segment = ShmSegment.open(name!);
const words = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset, segment.buffer.length >> 2);
const capacity = words[(64 + 8) >> 2]!;
const control = 128 + 192;
const data = 512 + capacity;
const bell = native.doorbellOpen(doorbellPaths(name!)[1]);

async function main(): Promise<void> {
  for (let round = 0; round < Number(rounds); round++) {
    const tail = Atomics.load(words, (control + 64) >> 2);
    randomBytes(capacity).copy(segment.buffer, data);
    Atomics.store(words, control >> 2, (tail + randomInt(0, capacity + 1)) | 0);
    native.doorbellRing(bell);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  Atomics.store(words, control >> 2, (Atomics.load(words, (control + 64) >> 2) + 4 * capacity) | 0);
  native.doorbellRing(bell);
  console.log('scribbled');
}
main().catch((error: Error) => console.log(`scribbler failed: ${error.message}`));
