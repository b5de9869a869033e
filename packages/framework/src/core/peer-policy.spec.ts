import { BootstrapError, PeerRefusedError } from './errors/errors';
import { fromWireError, toWireError } from './errors/wire';
import { resolveConfig } from '../config/config';
import { PeerPolicy, type PeerOptions } from './peer-policy';

const own = process.getuid?.() ?? 0;
const other = own === 65534 ? 65533 : 65534;

function policy(peers?: PeerOptions, env: NodeJS.ProcessEnv = {}): PeerPolicy {
  return new PeerPolicy(resolveConfig({ peers }, env).peers);
}

describe('PeerPolicy', () => {
  it('admits only its own uid by default, root included only when it is the own uid', () => {
    const strict = policy();
    expect(strict.refusal({ pid: 10, uid: own, gid: 1 }, 'pricing')).toBeUndefined();
    expect(strict.refusal({ pid: 10, uid: other, gid: other }, 'pricing')).toBe(`uid ${other} (gid ${other}) is not allowed (allowed: uid ${own})`);
    if (own !== 0) expect(strict.refusal({ pid: 1, uid: 0, gid: 0 }, 'pricing')).toContain('uid 0 (gid 0) is not allowed');
  });

  it('admits listed uids and gids, from options or HOSTMESH_PEER_UIDS / HOSTMESH_PEER_GIDS', () => {
    expect(policy({ uids: [other] }).refusal({ pid: 1, uid: other, gid: 5 }, 's')).toBeUndefined();
    expect(policy({ gids: [77] }).refusal({ pid: 1, uid: other, gid: 77 }, 's')).toBeUndefined();
    expect(policy({ gids: [77] }).refusal({ pid: 1, uid: other, gid: 78 }, 's')).toBe(`uid ${other} (gid 78) is not allowed (allowed: uid ${own}, gid 77)`);
    expect(policy(undefined, { HOSTMESH_PEER_UIDS: `${other}, 12` }).refusal({ pid: 1, uid: 12, gid: 5 }, 's')).toBeUndefined();
  });

  it('asks the authorize hook only about listed peers, with the kernel identity and the service name', () => {
    const seen: unknown[] = [];
    const guarded = policy({
      authorize: (peer, service) => {
        seen.push([peer, service]);
        return peer.pid === 666 ? 'pid 666 is banned' : peer.pid !== 13;
      },
    });
    expect(guarded.refusal({ pid: 1, uid: own, gid: 2 }, 'pricing')).toBeUndefined();
    expect(guarded.refusal({ pid: 666, uid: own, gid: 2 }, 'pricing')).toBe('pid 666 is banned');
    expect(guarded.refusal({ pid: 13, uid: own, gid: 2 }, 'pricing')).toBe('refused by the authorize hook');
    expect(guarded.refusal({ pid: 2, uid: other, gid: other }, 'pricing')).toContain('is not allowed');
    expect(seen).toEqual([
      [{ pid: 1, uid: own, gid: 2 }, 'pricing'],
      [{ pid: 666, uid: own, gid: 2 }, 'pricing'],
      [{ pid: 13, uid: own, gid: 2 }, 'pricing'],
    ]);
  });

  it('refuses when the hook throws or answers anything but true or a reason', () => {
    const throwing = policy({
      authorize: () => {
        throw new Error('directory down');
      },
    });
    expect(throwing.refusal({ pid: 1, uid: own, gid: 1 }, 's')).toBe('the authorize hook failed: directory down');
    const sloppy = policy({ authorize: () => 'yes' as unknown as boolean });
    expect(sloppy.refusal({ pid: 1, uid: own, gid: 1 }, 's')).toBe('yes');
    expect(policy({ authorize: () => '' }).refusal({ pid: 1, uid: own, gid: 1 }, 's')).toBe('refused by the authorize hook');
    expect(policy({ authorize: () => undefined as unknown as boolean }).refusal({ pid: 1, uid: own, gid: 1 }, 's')).toBe('refused by the authorize hook');
  });

  it('rejects bad options at start-up, naming them', () => {
    expect(() => resolveConfig({ peers: { uids: [-1] } }, {})).toThrow(BootstrapError);
    expect(() => resolveConfig({ peers: { uids: [-1] } }, {})).toThrow('peers.uids');
    expect(() => resolveConfig({}, { HOSTMESH_PEER_GIDS: 'wheel' })).toThrow('peers.gids');
    expect(() => resolveConfig({ peers: { authorize: 'yes' as never } }, {})).toThrow('peers.authorize');
  });

  it('builds a PeerRefusedError that is not retryable and survives the wire with its data', () => {
    const error = policy().error({ pid: 42, uid: other, gid: other }, 'pricing', 'nope');
    expect(error).toMatchObject({ code: 'PEER_REFUSED', retryable: false, data: { pid: 42, uid: other, gid: other, service: 'pricing', reason: 'nope' } });
    const revived = fromWireError(toWireError(error), 'test');
    expect(revived).toBeInstanceOf(PeerRefusedError);
    expect(revived).toMatchObject({ message: 'pricing refused the connection from pid 42: nope', retryable: false, data: { reason: 'nope' } });
  });
});
