import { PendingCalls } from './pending-calls';

describe('PendingCalls', () => {
  const add = (table: PendingCalls<{ id: number }>) => {
    const call = { id: table.allocateId() };
    table.set(call);
    return call;
  };

  it('gives ids from 1 up, finds each call by its id, and forgets it once deleted', () => {
    const table = new PendingCalls<{ id: number }>();
    const calls = Array.from({ length: 5 }, () => add(table));
    expect(calls.map((c) => c.id)).toEqual([1, 2, 3, 4, 5]);
    expect(table.size).toBe(5);
    expect(table.get(3)).toBe(calls[2]);
    expect(table.delete(3)).toBe(true);
    expect(table.delete(3)).toBe(false);
    expect(table.get(3)).toBeUndefined();
    expect(table.size).toBe(4);
    expect(table.values().map((c) => c.id)).toEqual([1, 2, 4, 5]);
  });

  it('never gives an id whose slot a long-pending call holds, and an id of another slot finds nothing', () => {
    const table = new PendingCalls<{ id: number }>();
    const slow = add(table);
    // Many calls come and go while the first stays pending: ids go round the table many times.
    for (let i = 0; i < 10_000; i++) table.delete(add(table).id);
    expect(table.get(slow.id)).toBe(slow);
    expect(table.size).toBe(1);
    const next = add(table);
    expect(next.id).not.toBe(slow.id);
    expect(table.get(next.id)).toBe(next);
    // The same slot, another id: not found.
    expect(table.get(slow.id + 64)).toBeUndefined();
    expect(table.delete(slow.id + 64)).toBe(false);
  });

  it('grows with what is pending and keeps every call findable', () => {
    const table = new PendingCalls<{ id: number }>();
    const calls = Array.from({ length: 1000 }, () => add(table));
    expect(table.size).toBe(1000);
    for (const call of calls) expect(table.get(call.id)).toBe(call);
    expect(new Set(calls.map((c) => c.id)).size).toBe(1000);
  });

  it('wraps past 2^32 - 1 to 1, never to 0', () => {
    const table = new PendingCalls<{ id: number }>();
    (table as unknown as { next: number }).next = 0xffff_ffff;
    const last = add(table);
    const wrapped = add(table);
    expect(last.id).toBe(0xffff_ffff);
    expect(wrapped.id).toBe(1);
    expect(table.get(0xffff_ffff)).toBe(last);
  });

  it('keeps its calls out of the overflow: every allocated id finds a free slot', () => {
    const table = new PendingCalls<{ id: number }>();
    const calls = Array.from({ length: 500 }, () => add(table));
    const inner = (table as unknown as { table: { overflow: Map<number, unknown> | null } }).table;
    expect(inner.overflow?.size ?? 0).toBe(0);
    for (const call of calls) expect(table.get(call.id)).toBe(call);
  });

  it("lists the calls oldest first, across the table's wrap and past 2^32", () => {
    const table = new PendingCalls<{ id: number }>();
    // Ids 60..70 fall in slots 60..63, then 0..6.
    for (let i = 1; i < 60; i++) table.delete(add(table).id);
    const calls = Array.from({ length: 11 }, () => add(table));
    expect(calls[0]!.id).toBe(60);
    expect(table.values()).toEqual(calls);
    const wrapping = new PendingCalls<{ id: number }>();
    (wrapping as unknown as { next: number }).next = 0xffff_fffe;
    const around = Array.from({ length: 4 }, () => add(wrapping));
    expect(around.map((c) => c.id)).toEqual([0xffff_fffe, 0xffff_ffff, 1, 2]);
    expect(wrapping.values()).toEqual(around);
  });
});
