import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { processStartTime, ShmSegment } from '@hostmesh/native';
import { ServiceAlreadyRunningError } from '../../core/errors/errors';
import { InflightJournal, TRACKED_FRAMES } from './inflight-journal';

let counter = 0;
const journalName = () => `/hm.${process.getuid!()}.journal-spec-${process.pid}.${counter++}`;
const exists = (name: string) => existsSync(`/dev/shm${name}`);

describe('the in-flight journal of an event queue (a real shm segment)', () => {
  const names: string[] = [];
  const open = (name: string, slots: number, slotBytes: number, waitMs = 0) => {
    names.push(name);
    return InflightJournal.open(name, slots, slotBytes, waitMs);
  };
  afterAll(() => {
    for (const name of names) {
      try {
        ShmSegment.unlink(name);
      } catch {
        // removed by the test
      }
    }
  });

  it('gives what a killed run held back to the next, oldest first, and frees the rest', async () => {
    const name = journalName();
    const { journal: first } = await open(name, 4, 64);
    const slots = ['a', 'b', 'c'].map((text) => first.hold(Buffer.from(`${text}-message`), 9));
    first.release(slots[1]!);
    // No close: the process "dies" holding a and c. Reopening maps the same segment.
    const { journal: second, dropped } = await open(name, 4, 64);
    expect(dropped).toBe(0);
    expect(second.recovered().map((slot) => second.message(slot).toString())).toEqual(['a-message', 'c-message']);
    expect(second.free).toBe(2);
    expect(second.recovered()).toEqual([]); // handed out once
  });

  it("records each frame's handling, so a killed run's successor skips what it finished; a new message starts with none", async () => {
    const name = journalName();
    const { journal: first } = await open(name, 2, 64);
    const slot = first.hold(Buffer.from('three frames'), 12);
    first.markDone(slot, 0);
    first.markDone(slot, 2);
    first.markDone(slot, TRACKED_FRAMES); // past the bitmap: never recorded
    const { journal: second } = await open(name, 2, 64);
    const [recovered] = second.recovered();
    expect(recovered).toBe(slot);
    expect([0, 1, 2, 3, TRACKED_FRAMES].map((frame) => second.isDone(slot, frame))).toEqual([true, false, true, false, false]);
    second.release(slot);
    const again = second.hold(Buffer.from('next'), 4);
    expect(again).toBe(slot);
    expect([0, 2].map((frame) => second.isDone(again, frame))).toEqual([false, false]);
  });

  it('carries over what a journal of the previous layout (v2, no bitmap) held', async () => {
    const name = journalName();
    names.push(name);
    // v2: header 32 (magic, slots, slot bytes, owner); per slot a 24-byte header, then the message.
    const v2 = ShmSegment.create(name, 32 + 2 * 40, { ownerless: true });
    v2.data.writeUInt32LE(0x4a4d_4802, 0);
    v2.data.writeUInt32LE(2, 4);
    v2.data.writeUInt32LE(16, 8);
    const slot1 = 32 + 40;
    v2.data.writeUInt32LE(1, slot1);
    v2.data.writeUInt32LE(5, slot1 + 4);
    v2.data.writeDoubleLE(7, slot1 + 8);
    v2.data.write('kept!', slot1 + 24);
    v2.close();
    const { journal, dropped } = await open(name, 2, 16);
    expect(dropped).toBe(0);
    expect(journal.recovered().map((slot) => journal.message(slot).toString())).toEqual(['kept!']);
  });

  it('refuses a message when full or too long, and is removed by a clean close only when empty', async () => {
    const name = journalName();
    const { journal } = await open(name, 2, 8);
    expect(journal.hold(Buffer.alloc(9), 9)).toBe(-1);
    const a = journal.hold(Buffer.from('12345678'), 8);
    const b = journal.hold(Buffer.from('x'), 1);
    expect([a, b].every((slot) => slot >= 0)).toBe(true);
    expect(journal.hold(Buffer.from('y'), 1)).toBe(-1);
    journal.close();
    expect(exists(name)).toBe(true); // still holds two messages for the next run

    const { journal: next } = await open(name, 2, 8);
    for (const slot of next.recovered()) next.release(slot);
    next.close();
    expect(exists(name)).toBe(false);
  });

  it('carries held messages over to a new geometry, counting those that no longer fit', async () => {
    const name = journalName();
    const { journal: old } = await open(name, 3, 64);
    old.hold(Buffer.from('short'), 5);
    old.hold(Buffer.alloc(40, 1), 40);
    old.hold(Buffer.from('tiny'), 4);
    const { journal, dropped } = await open(name, 8, 16);
    expect(dropped).toBe(1);
    expect(journal.slots).toBe(8);
    expect(journal.recovered().map((slot) => journal.message(slot).toString())).toEqual(['short', 'tiny']);
  });

  it('drops entries whose length was scribbled over, and replaces a segment that is not a journal', async () => {
    const name = journalName();
    const { journal } = await open(name, 2, 16);
    const slot = journal.hold(Buffer.from('fine'), 4);
    journal.hold(Buffer.from('victim'), 6);
    // A hostile process writes a huge length into the second slot (journal header 32, slot stride 104: 88 bytes of slot header).
    const raw = ShmSegment.open(name);
    raw.data.writeUInt32LE(0xffff_fff0, 32 + 104 + 4);
    raw.close();
    const { journal: reopened, dropped } = await open(name, 2, 16);
    expect(dropped).toBe(1);
    expect(reopened.recovered()).toEqual([slot]);

    const foreign = journalName();
    const other = ShmSegment.create(foreign, 100);
    other.data.fill(0xee); // a segment, but not a journal
    other.close();
    const { journal: replaced, dropped: none } = await open(foreign, 2, 16);
    expect(none).toBe(0);
    expect(replaced.recovered()).toEqual([]);
    expect(replaced.free).toBe(2);
  });

  it('counts the runs that started delivering an entry, across runs', async () => {
    const name = journalName();
    const { journal } = await open(name, 2, 16);
    const slot = journal.hold(Buffer.from('poison'), 6);
    // The run that took it from the queue is the first.
    const { journal: next } = await open(name, 2, 16);
    expect(next.recovered()).toEqual([slot]);
    expect(next.attempt(slot)).toBe(2);
    const { journal: third } = await open(name, 2, 16);
    expect(third.attempt(third.recovered()[0]!)).toBe(3);
  });

  it('waits for a live owner that is still stopping, refuses it past the wait, and takes over once it is gone', async () => {
    const name = journalName();
    const { journal } = await open(name, 2, 16);
    journal.hold(Buffer.from('mine'), 4);
    journal.close(); // held, so it stays; no owner now
    // Another live process claims it (as a previous run of the instance would).
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const raw = ShmSegment.open(name);
      raw.data.writeUInt32LE(other.pid!, 16);
      raw.data.writeDoubleLE(processStartTime(other.pid!)!, 24);
      raw.close();
      const started = Date.now();
      await expect(open(name, 2, 16, 300)).rejects.toThrow(ServiceAlreadyRunningError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      const waiting = open(name, 2, 16, 10_000);
      other.kill('SIGKILL');
      const { journal: taken } = await waiting;
      expect(taken.recovered().map((slot) => taken.message(slot).toString())).toEqual(['mine']);
    } finally {
      other.kill('SIGKILL');
    }
  });
});
