import { CallContext, deadlineFrom } from './call-context';

const peer = { kind: 'uds' as const, address: 'test' };

describe('CallContext', () => {
  it('takes a deadline beyond what a timer holds (2^31 - 1 ms) as none, so its signal does not fire at once', async () => {
    expect(deadlineFrom({ deadline: 0xffff_ffff })).toBe(Infinity);
    expect(deadlineFrom(undefined, 2 ** 31)).toBe(Infinity);
    const context = new CallContext('a.b', 1, peer, undefined, { deadline: 0xffff_ffff });
    const signal = context.signal;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal.aborted).toBe(false);
    context.end();
  });

  it("fires its signal at the caller's deadline, and stops watching once the handler settled", async () => {
    const soon = new CallContext('a.b', 1, peer, undefined, { deadline: 10 });
    const fired = new Promise((resolve) => soon.signal.addEventListener('abort', () => resolve(soon.signal.reason)));
    await expect(fired).resolves.toMatchObject({ code: 'CALL_TIMEOUT' });
    expect(soon.callerGone).toBe(false);
    const ended = new CallContext('a.b', 2, peer, undefined, { deadline: 10 });
    ended.end();
    expect(ended.settled).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ended.signal.aborted).toBe(false);
  });

  it('gives only headers the caller sent, not what objects inherit', () => {
    const context = new CallContext('a.b', 1, peer, undefined, { tenant: 'acme' });
    expect(context.header('tenant')).toBe('acme');
    expect(context.header('constructor')).toBeUndefined();
    expect(context.header('toString')).toBeUndefined();
  });

  it('tells a caller that went away from a deadline that passed', () => {
    const context = new CallContext('a.b', 1, peer);
    context.cancel('the caller disconnected');
    expect(context.callerGone).toBe(true);
    expect(context.cancelled).toBe(true);
  });
});
