import { chownSync, existsSync, statSync, statfsSync } from 'node:fs';
import { startFixture, uniqueName } from './__fixtures__/child-process';
import { PosixError } from './posix-error';
import { ownProcessStartTime } from './process-info';
import { SEGMENT_HEADER_BYTES, ShmSegment } from './shm-segment';

describe('ShmSegment', () => {
  const names: string[] = [];
  const make = (label: string, size = 4096) => {
    const name = uniqueName(label);
    names.push(name);
    return ShmSegment.create(name, size);
  };
  afterAll(() => {
    for (const name of names) {
      try {
        ShmSegment.unlink(name);
      } catch {
        // unlinked by the test
      }
    }
  });

  it('creates a 0600 segment tagged with its owner, sized as asked', () => {
    const segment = make('tag');
    expect(segment.size).toBe(4096);
    expect(segment.buffer.length).toBe(4096 + SEGMENT_HEADER_BYTES);
    expect(segment.owner).toMatchObject({ pid: process.pid, startTime: ownProcessStartTime() });
    expect(ShmSegment.ownerOf(segment.name)).toMatchObject({ pid: process.pid });
    const stat = statSync(`/dev/shm${segment.name}`);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.uid).toBe(process.getuid!());
  });

  it('shows what another process writes in the same memory, without copying', async () => {
    const segment = make('shared', 1 << 16);
    const view = segment.data;
    const child = startFixture('shm-writer', [segment.name, '171']);
    await expect(child.waitFor(/^filled 65536 owner \d+$/)).resolves.toBe(`filled 65536 owner ${process.pid}`);
    expect(view.every((byte) => byte === 171)).toBe(true);
    await child.exited;
  });

  it('empties every view when closed, so unmapped memory can never be touched', () => {
    const segment = make('closed');
    const view = segment.data.subarray(10, 20);
    segment.close();
    expect(segment.isClosed).toBe(true);
    expect(view.length).toBe(0);
    expect(segment.buffer.length).toBe(0);
  });

  it('reports a missing segment as PosixError ENOENT naming the call and the object', () => {
    const name = uniqueName('missing');
    const error = (() => {
      try {
        ShmSegment.open(name);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PosixError);
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'shm_open', object: name, errno: 2 });
    expect((error as Error).message).toBe(`shm_open ${name}: No such file or directory (ENOENT)`);
  });

  it('reserves its pages at creation: a segment /dev/shm cannot hold is ENOSPC there, not a SIGBUS on first touch', () => {
    // Larger than the whole tmpfs, so the kernel refuses before reserving anything.
    const { blocks, bsize } = statfsSync('/dev/shm');
    const name = uniqueName('too-big');
    let error: unknown;
    try {
      ShmSegment.create(name, blocks * bsize + 1024 * 1024).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PosixError);
    expect(error).toMatchObject({ code: 'ENOSPC', syscall: 'posix_fallocate' });
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it('refuses to create a segment that exists, with EEXIST', () => {
    const segment = make('twice');
    expect(() => ShmSegment.create(segment.name, 64)).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'shm_open' }));
  });

  // Only root can hand a file to another user; CI runs as root.
  (process.getuid!() === 0 ? it : it.skip)('refuses a segment that belongs to another user (as root)', () => {
    const segment = make('foreign');
    chownSync(`/dev/shm${segment.name}`, 65534, 65534);
    expect(() => ShmSegment.open(segment.name)).toThrow(
      expect.objectContaining({ code: 'EACCES', syscall: 'shm_open (owned by another user: uid 65534, mode 0600)' }),
    );
  });

  it.each([
    [() => ShmSegment.create('no-slash', 10), TypeError, "name must be '/' followed by 1-250 characters without '/', got \"no-slash\""],
    [() => ShmSegment.create('/a/b', 10), TypeError, "name must be '/' followed by 1-250 characters without '/', got \"/a/b\""],
    [() => ShmSegment.create('/ok', 1.5), TypeError, 'size must be an integer, got number 1.5'],
    [() => ShmSegment.create('/ok', 0), RangeError, 'size must be between 1 and 1099511627776, got 0'],
  ])('validates arguments before any system call (%#)', (call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });
});
