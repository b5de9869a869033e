import { discardPages } from './pages';

describe('discardPages', () => {
  it('gives the whole pages inside a buffer back to the kernel, which then reads as zeros, and leaves the partial pages at its ends alone', () => {
    const buffer = Buffer.allocUnsafe(4 << 20).fill(0x61);
    const rss = () => process.memoryUsage.rss();
    const before = rss();
    const given = discardPages(buffer);
    expect(given).toBeGreaterThanOrEqual((4 << 20) - 2 * 4096);
    expect(given % 4096).toBe(0);
    expect(rss()).toBeLessThan(before - (3 << 20));
    const first = buffer.indexOf(0);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(4096);
    expect(buffer.subarray(first, first + given).every((byte) => byte === 0)).toBe(true);
    expect(buffer.subarray(0, first).every((byte) => byte === 0x61)).toBe(true);
    expect(buffer.subarray(first + given).every((byte) => byte === 0x61)).toBe(true);
  });

  it('refuses what is not a Buffer', () => {
    expect(() => discardPages(new Uint8Array(8) as Buffer)).toThrow(new TypeError('buffer must be a Buffer, got object'));
  });
});
