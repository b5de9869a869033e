import { IdTable } from './id-table';

describe('IdTable', () => {
  it('finds, replaces and deletes values by id, in sequence as a caller numbers its calls', () => {
    const table = new IdTable<string>();
    for (let id = 1; id <= 1000; id++) table.set(id, `call ${id}`);
    expect(table.size).toBe(1000);
    expect(table.get(500)).toBe('call 500');
    table.set(500, 'again');
    expect(table.get(500)).toBe('again');
    expect(table.size).toBe(1000);
    for (let id = 1; id <= 1000; id += 2) expect(table.delete(id)).toBe(true);
    expect(table.delete(1)).toBe(false);
    expect(table.size).toBe(500);
    expect(table.get(1)).toBeUndefined();
    expect(table.values()).toHaveLength(500);
  });

  it('keeps ids that share a slot apart (the overflow), and each is found and deleted on its own', () => {
    const table = new IdTable<number>();
    const ids = [7, 7 + 64, 7 + 128, 0xffff_ffff - 56, 0];
    ids.forEach((id, i) => table.set(id, i));
    ids.forEach((id, i) => expect(table.get(id)).toBe(i));
    expect(table.delete(7)).toBe(true);
    expect(table.get(7)).toBeUndefined();
    expect(table.get(7 + 64)).toBe(1);
    // An id set again once its slot is free is kept once, not also in the overflow.
    table.set(7 + 64, 10);
    expect(table.get(7 + 64)).toBe(10);
    expect(table.size).toBe(4);
    expect(table.delete(7 + 64)).toBe(true);
    expect(table.get(7 + 64)).toBeUndefined();
    expect(table.size).toBe(3);
    expect(table.values().sort()).toEqual([2, 3, 4]);
  });

  it('grows with what it holds and loses nothing, colliding ids included', () => {
    const table = new IdTable<number>();
    const ids = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? i * 64 : i) >>> 0);
    for (const id of new Set(ids)) table.set(id, id);
    for (const id of new Set(ids)) expect(table.get(id)).toBe(id);
    expect(table.size).toBe(new Set(ids).size);
  });
});
