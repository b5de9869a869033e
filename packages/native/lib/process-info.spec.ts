import { spawnSync } from 'node:child_process';
import { isProcessAlive, ownProcessStartTime, processStartTime } from './process-info';

describe('process liveness', () => {
  it('knows this process is alive by pid and start time', () => {
    const start = ownProcessStartTime();
    expect(start).toBeGreaterThan(0);
    expect(processStartTime(process.pid)).toBe(start);
    expect(isProcessAlive(process.pid, start)).toBe(true);
  });

  it('treats the same pid with another start time as a different, dead process', () => {
    expect(isProcessAlive(process.pid, ownProcessStartTime() + 1)).toBe(false);
  });

  it('reports a process that has exited as dead', () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(child.stdout.toString());
    expect(processStartTime(pid)).toBeUndefined();
    expect(isProcessAlive(pid, 1)).toBe(false);
  });

  it('rejects pids that cannot name a process', () => {
    expect(isProcessAlive(0, 0)).toBe(false);
    expect(isProcessAlive(-1, 0)).toBe(false);
  });
});
