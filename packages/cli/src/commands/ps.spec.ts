import type { InstanceStatus } from '../supervisor/state';
import { showPaused } from './ps';

describe('hostmesh ps: rates of instances that stopped reporting', () => {
  const instance = (at: number, callsPerSecond: number): InstanceStatus => ({
    service: 'echo',
    instance: 0,
    pid: process.pid, // a live, running process: its state stays as given
    state: 'ready',
    restarts: 0,
    startedAt: undefined,
    lastExit: undefined,
    callsPerSecond,
    health: { at: new Date(at).toISOString() } as InstanceStatus['health'],
  });

  it('keeps a fresh rate, fades one whose report is old, and shows 0 once it is much older', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const fresh = instance(now - 1000, 100);
    const old = instance(now - 8000, 100);
    const gone = instance(now - 30_000, 100);
    for (const each of [fresh, old, gone]) showPaused(each, now);
    expect([fresh.callsPerSecond, old.callsPerSecond, gone.callsPerSecond]).toEqual([100, 25, 0]);
    expect(fresh.state).toBe('ready');
  });
});
