import type { CallOptions } from '../contracts/client';
import { createClientProxy, type Caller } from './client-proxy';

interface Api {
  quote(symbol: string, quantity: number): number;
}

function recordingCaller(): Caller & { calls: Array<[string, unknown[], CallOptions | undefined]> } {
  const calls: Array<[string, unknown[], CallOptions | undefined]> = [];
  return { calls, call: async (method, args, options) => calls.push([method, args, options]) };
}

describe('createClientProxy', () => {
  it('turns each method call into a call of the route with its arguments', async () => {
    const caller = recordingCaller();
    const client = createClientProxy<Api>(caller);
    await client.quote('ACME', 3);
    expect(caller.calls).toEqual([['quote', ['ACME', 3], undefined]]);
    expect(client.quote).toBe(client.quote);
  });

  it('is not mistaken for a promise or serialised by probes', async () => {
    const caller = recordingCaller();
    const client = createClientProxy<Api>(caller);
    await expect(Promise.resolve(client)).resolves.toBe(client);
    const probed = client as unknown as Record<string, unknown>;
    expect(probed.then).toBeUndefined();
    expect(probed.toJSON).toBeUndefined();
    expect(probed.constructor).toBeUndefined();
    expect(caller.calls).toEqual([]);
  });

  it('applies $with options to every call, merging repeated ones', async () => {
    const caller = recordingCaller();
    const signal = new AbortController().signal;
    const client = createClientProxy<Api>(caller).$with({ timeoutMs: 50 }).$with({ signal });
    await client.quote('ACME', 1);
    expect(caller.calls[0]![2]).toEqual({ timeoutMs: 50, signal });
  });

  it('makes a method an own property of the client at its first use, so later calls meet no Proxy trap; it lists no keys', async () => {
    const caller = recordingCaller();
    const client = createClientProxy<Api>(caller);
    expect(Object.getOwnPropertyNames(client)).toEqual([]);
    expect('quote' in client).toBe(true);
    await client.quote('ACME', 1);
    expect(Object.getOwnPropertyDescriptor(client, 'quote')?.value).toBe(client.quote);
    expect(Object.keys(client)).toEqual([]);
    expect(JSON.stringify(client)).toBe('{}');
    await client.quote('ACME', 2);
    expect(caller.calls.map((c) => c[1])).toEqual([
      ['ACME', 1],
      ['ACME', 2],
    ]);
    // A test may still spy on a method already used.
    const spy = jest.spyOn(client, 'quote').mockReturnValue(Promise.resolve(42));
    await expect(client.quote('ACME', 3)).resolves.toBe(42);
    expect(spy).toHaveBeenCalledWith('ACME', 3);
  });

  it('keeps working when frozen: methods keep coming from the Proxy', async () => {
    const caller = recordingCaller();
    const client = Object.freeze(createClientProxy<Api>(caller));
    await client.quote('ACME', 1);
    await client.quote('ACME', 2);
    expect(caller.calls).toHaveLength(2);
  });
});
