import { ShmSegment } from '../shm-segment';

/**
 * The store-buffer litmus test, one side of it: x = 1 then read y (side A), y = 1 then
 * read x (side B). If both ever read 0, stores were reordered after loads: the fence the
 * ring relies on is missing. Side A drives the rounds and prints the count.
 */
const [role, name, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const segment = ShmSegment.open(name!);
const w = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset, segment.buffer.length >> 2);
const GO_A = 32,
  GO_B = 48,
  X = 64,
  Y = 80,
  R2 = 96; // one cache line each
if (role === 'A') {
  let both = 0;
  for (let round = 1; round <= rounds; round++) {
    Atomics.store(w, X, 0);
    Atomics.store(w, Y, 0);
    Atomics.store(w, R2, -1);
    Atomics.store(w, GO_B, round);
    while (Atomics.load(w, GO_A) !== round);
    Atomics.store(w, X, 1);
    const r1 = Atomics.load(w, Y);
    while (Atomics.load(w, R2) === -1);
    if (r1 === 0 && Atomics.load(w, R2) === 0) both++;
  }
  Atomics.store(w, GO_B, -1);
  console.log(`reordered ${both} of ${rounds}`);
} else {
  let last = 0;
  for (;;) {
    let round;
    while ((round = Atomics.load(w, GO_B)) === last);
    if (round < 0) break;
    last = round;
    Atomics.store(w, GO_A, round);
    Atomics.store(w, Y, 1);
    Atomics.store(w, R2, Atomics.load(w, X));
  }
}
