/** Credit a stream's sender holds: items, and body bytes (one frame may overrun the bytes). */
export interface StreamWindow {
  items: number;
  bytes: number;
}

/**
 * What every stream's sender may send before its receiver grants anything: part of the
 * protocol (docs/protocol.md), so neither side has to announce it.
 */
export const INITIAL_CREDIT: Readonly<StreamWindow> = Object.freeze({ items: 16, bytes: 256 * 1024 });

/** What a receiver grants up to unless the caller asks otherwise (`$with({ window })`). */
export const DEFAULT_WINDOW: Readonly<StreamWindow> = Object.freeze({ items: 4096, bytes: 4 * 1024 * 1024 });

/** At most this many items share one StreamData frame. */
export const MAX_BATCH_ITEMS = 64;

/** A Buffer item at least this large travels as a raw body of its own: no msgpack, and no copy into a batch. */
export const RAW_ITEM_BYTES = 4096;

/** Checks a caller's `window` option; the defaults fill in what it leaves out. */
export function windowFrom(option: Partial<StreamWindow> | undefined): StreamWindow {
  if (option === undefined) return DEFAULT_WINDOW;
  const items = option.items ?? DEFAULT_WINDOW.items;
  const bytes = option.bytes ?? DEFAULT_WINDOW.bytes;
  if (!Number.isInteger(items) || items < 1 || items > 1_000_000) throw new RangeError(`window.items must be an integer from 1 to 1000000, got ${items}`);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 2 ** 31) throw new RangeError(`window.bytes must be an integer from 1 to 2^31, got ${bytes}`);
  return { items, bytes };
}
