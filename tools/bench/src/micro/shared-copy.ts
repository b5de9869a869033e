/**
 * Copying a payload into shared memory that the other process has just read (a run of the
 * pool, reused for the next frame), three ways side by side: one copy (what msgpackr does for
 * a Buffer field), 64 KiB pieces (the pool's writer, one slot at a time) and a memset of the
 * destination before one copy (what the codec does for frames of 1–4 MiB packed in place).
 * A last row copies into this process's own memory, for contrast.
 *
 *   node tools/bench/dist/micro/shared-copy.js [--quick]
 *
 * A partner process on CPU 1 writes the source (in 64 KiB pieces) and reads the destination
 * back; this process, on CPU 0, does the copy. Without taskset both run where the kernel puts them.
 */
import { ShmSegment } from '@hostmesh/native';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { median } from '../stats';

/** Whose turn it is (an i32 at CONTROL): the partner's, the copier's, or stop. */
const PARTNER = 0;
const COPIER = 1;
const STOP = 2;
const CONTROL = 64;
const DATA = 4096;
const PIECE = 64 * 1024;
/** A partner that stops answering ends the run instead of holding it. */
const TURN_TIMEOUT_MS = 10_000;

function waitFor(turn: Int32Array, whose: number): void {
  const deadline = Date.now() + TURN_TIMEOUT_MS;
  for (let spins = 1; Atomics.load(turn, 0) !== whose; spins++) {
    if (Atomics.load(turn, 0) === STOP) throw new Error('stopped');
    if ((spins & 0xffff) === 0 && Date.now() > deadline) throw new Error(`no turn within ${TURN_TIMEOUT_MS} ms`);
  }
}

function copyInPieces(target: Buffer, source: Buffer): void {
  for (let at = 0; at < source.length; at += PIECE) target.set(source.subarray(at, at + PIECE), at);
}

/** The partner: writes a fresh source, then reads what the copier made of the previous one. */
function partner(name: string, size: number): void {
  const segment = ShmSegment.open(name);
  const turn = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset + CONTROL, 1);
  const source = segment.buffer.subarray(DATA, DATA + size);
  const target = segment.buffer.subarray(DATA + size, DATA + 2 * size);
  const fresh = Buffer.alloc(size, 3);
  process.stdout.write('ready\n');
  for (let round = 1; ; round++) {
    try {
      waitFor(turn, PARTNER);
    } catch {
      break;
    }
    if (round > 1 && !target.equals(source)) throw new Error('the copy differs from its source');
    fresh[round % size] = round & 0xff;
    copyInPieces(source, fresh);
    Atomics.store(turn, 0, COPIER);
  }
  segment.close();
}

/** Pins this process to CPU 0 and gives the command that runs the partner on CPU 1 (both left alone without taskset). */
function partnerOnOtherCpu(command: string[]): [string, string[]] {
  const taskset = spawnSync('taskset', ['-cp', '0', String(process.pid)]).status === 0;
  return taskset ? ['taskset', ['-c', '1', ...command]] : [command[0]!, command.slice(1)];
}

const WAYS: ReadonlyArray<(target: Buffer, source: Buffer) => void> = [
  (target, source) => target.set(source),
  copyInPieces,
  (target, source) => {
    target.fill(0);
    target.set(source);
  },
];

/** µs per copy for each way (median of rounds), into the shared destination or, with `local`, into this process's memory. */
async function measure(size: number, copies: number, rounds: number, local: boolean): Promise<number[]> {
  const name = `/hm.${process.getuid!()}.bench.copy.${process.pid}.${size}`;
  const segment = ShmSegment.create(name, DATA + 2 * size);
  let child: ChildProcess | undefined;
  try {
    const turn = new Int32Array(segment.buffer.buffer, segment.buffer.byteOffset + CONTROL, 1);
    const source = segment.buffer.subarray(DATA, DATA + size);
    const shared = segment.buffer.subarray(DATA + size, DATA + 2 * size);
    const target = local ? Buffer.alloc(size) : shared;
    const [command, args] = partnerOnOtherCpu([process.execPath, __filename, '--partner', name, String(size)]);
    child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.once('data', () => resolve());
      child!.once('exit', (code) => reject(new Error(`the partner exited (${code}) before it was ready`)));
    });
    const perRound = WAYS.map((): number[] => []);
    for (let round = 0; round < rounds; round++) {
      for (let way = 0; way < WAYS.length; way++) {
        let total = 0;
        for (let copy = -Math.ceil(copies / 10); copy < copies; copy++) {
          waitFor(turn, COPIER);
          const start = process.hrtime.bigint();
          WAYS[way]!(target, source);
          if (copy >= 0) total += Number(process.hrtime.bigint() - start);
          // The partner checks the shared destination; a local one is its own to keep equal.
          if (local) shared.set(target);
          Atomics.store(turn, 0, PARTNER);
        }
        perRound[way]!.push(total / copies / 1000);
      }
    }
    Atomics.store(turn, 0, STOP);
    return perRound.map(median);
  } finally {
    child?.kill('SIGKILL');
    segment.close();
    ShmSegment.unlink(name);
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const rounds = quick ? 1 : 3;
  console.log('copying into shared memory the other process just read: µs per copy (median of rounds)');
  console.log('size      destination   one copy   64 KiB pieces   memset + one copy   one copy / pieces');
  const rows: Array<[number, boolean]> = [
    [512 << 10, false],
    [1 << 20, false],
    [2 << 20, false],
    [4 << 20, false],
    [8 << 20, false],
    [1 << 20, true],
  ];
  for (const [size, local] of rows) {
    const copies = Math.max(30, Math.round(((quick ? 200 : 2000) << 20) / size));
    const [single, pieces, memset] = await measure(size, copies, rounds, local);
    const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
    console.log(
      `${label.padEnd(10)}${(local ? 'own memory' : 'shared').padEnd(14)}${single!.toFixed(1).padStart(8)}` +
        `${pieces!.toFixed(1).padStart(16)}${memset!.toFixed(1).padStart(20)}${`${(single! / pieces!).toFixed(2)}×`.padStart(20)}`,
    );
  }
}

if (process.argv[2] === '--partner') partner(process.argv[3]!, Number(process.argv[4]));
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
