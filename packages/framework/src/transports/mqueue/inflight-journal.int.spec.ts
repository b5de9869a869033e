import { existsSync } from 'node:fs';
import { ShmSegment } from '@hostmesh/native';
import { InflightJournal } from './inflight-journal';

let counter = 0;
const journalName = () => `/hm.${process.getuid!()}.journal-spec-${process.pid}.${counter++}`;
const exists = (name: string) => existsSync(`/dev/shm${name}`);

describe('the in-flight journal of an event queue (a real shm segment)', () => {
  const names: string[] = [];
  const open = (name: string, slots: number, slotBytes: number) => {
    names.push(name);
    return InflightJournal.open(name, slots, slotBytes);
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

  it('gives what a killed run held back to the next, oldest first, and frees the rest', () => {
    const name = journalName();
    const { journal: first } = open(name, 4, 64);
    const slots = ['a', 'b', 'c'].map((text) => first.hold(Buffer.from(`${text}-message`), 9));
    first.release(slots[1]!);
    // No close: the process "dies" holding a and c. Reopening maps the same segment.
    const { journal: second, dropped } = open(name, 4, 64);
    expect(dropped).toBe(0);
    expect(second.recovered().map((slot) => second.message(slot).toString())).toEqual(['a-message', 'c-message']);
    expect(second.free).toBe(2);
    expect(second.recovered()).toEqual([]); // handed out once
  });

  it('refuses a message when full or too long, and is removed by a clean close only when empty', () => {
    const name = journalName();
    const { journal } = open(name, 2, 8);
    expect(journal.hold(Buffer.alloc(9), 9)).toBe(-1);
    const a = journal.hold(Buffer.from('12345678'), 8);
    const b = journal.hold(Buffer.from('x'), 1);
    expect([a, b].every((slot) => slot >= 0)).toBe(true);
    expect(journal.hold(Buffer.from('y'), 1)).toBe(-1);
    journal.close();
    expect(exists(name)).toBe(true); // still holds two messages for the next run

    const { journal: next } = open(name, 2, 8);
    for (const slot of next.recovered()) next.release(slot);
    next.close();
    expect(exists(name)).toBe(false);
  });

  it('carries held messages over to a new geometry, counting those that no longer fit', () => {
    const name = journalName();
    const { journal: old } = open(name, 3, 64);
    old.hold(Buffer.from('short'), 5);
    old.hold(Buffer.alloc(40, 1), 40);
    old.hold(Buffer.from('tiny'), 4);
    const { journal, dropped } = open(name, 8, 16);
    expect(dropped).toBe(1);
    expect(journal.slots).toBe(8);
    expect(journal.recovered().map((slot) => journal.message(slot).toString())).toEqual(['short', 'tiny']);
  });

  it('drops entries whose length was scribbled over, and replaces a segment that is not a journal', () => {
    const name = journalName();
    const { journal } = open(name, 2, 16);
    const slot = journal.hold(Buffer.from('fine'), 4);
    journal.hold(Buffer.from('victim'), 6);
    // A hostile process writes a huge length into the second slot (header 64 + journal header 16 + slot stride 32).
    const raw = ShmSegment.open(name);
    raw.data.writeUInt32LE(0xffff_fff0, 16 + 32 + 4);
    raw.close();
    const { journal: reopened, dropped } = open(name, 2, 16);
    expect(dropped).toBe(1);
    expect(reopened.recovered()).toEqual([slot]);

    const foreign = journalName();
    const other = ShmSegment.create(foreign, 100);
    other.data.fill(0xee); // a segment, but not a journal
    other.close();
    const { journal: replaced, dropped: none } = open(foreign, 2, 16);
    expect(none).toBe(0);
    expect(replaced.recovered()).toEqual([]);
    expect(replaced.free).toBe(2);
  });
});
