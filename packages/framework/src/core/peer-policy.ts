import type { Socket } from 'node:net';
import { peerCredentials } from '@hostmesh/native';
import { PeerRefusedError } from './errors/errors';
import { fromWireError, toWireError } from './errors/wire';
import type { OptionReader } from './options';
import type { Logger } from './logger';

/** The process on the other end of a Unix socket, as the kernel reported it (SO_PEERCRED). */
export interface PeerIdentity {
  pid: number;
  uid: number;
  gid: number;
}

/** Decides about a peer that passed the uid/gid lists: `true` admits, `false` or a reason string refuses. */
export type PeerAuthorizer = (peer: PeerIdentity, service: string) => boolean | string;

export interface PeerOptions {
  /** More uids allowed to connect, besides the service's own. */
  uids?: number[];
  /** Peers whose (primary) gid is listed are allowed too. */
  gids?: number[];
  /** Runs for every peer the lists allow, before any of its bytes is read; may only narrow them. */
  authorize?: PeerAuthorizer;
}

export interface PeerPolicyConfig {
  uids: number[];
  gids: number[];
  authorize: PeerAuthorizer | undefined;
}

/** The `peers` option, else HOSTMESH_PEER_UIDS / HOSTMESH_PEER_GIDS. */
export function resolvePeers(options: PeerOptions | undefined, read: OptionReader): PeerPolicyConfig {
  const { env } = read;
  const fail = read.fail.bind(read);
  const ids = (option: string, value: number[] | undefined, raw: string | undefined): number[] => {
    const list =
      value ??
      (raw
        ? raw
            .split(',')
            .map((part) => part.trim())
            .filter(Boolean)
            .map(Number)
        : []);
    if (!Array.isArray(list)) fail(option, list, 'an array of ids');
    for (const id of list) if (!Number.isInteger(id) || id < 0 || id > 0xffff_fffe) fail(option, id, 'an integer id in 0..4294967294');
    return [...list];
  };
  const authorize = options?.authorize;
  if (authorize !== undefined && typeof authorize !== 'function') fail('peers.authorize', typeof authorize, 'a function');
  return {
    uids: ids('peers.uids', options?.uids, env.HOSTMESH_PEER_UIDS),
    gids: ids('peers.gids', options?.gids, env.HOSTMESH_PEER_GIDS),
    authorize,
  };
}

/** How long a refused socket may linger (its unread bytes discarded) before it is destroyed. */
export const REFUSED_LINGER_MS = 1000;

/**
 * Who may connect to a service's Unix sockets. The kernel's SO_PEERCRED (recorded at
 * connect time, unforgeable) is checked against the allow-list (the service's own uid,
 * plus `peers.uids` / `peers.gids`), then against the `peers.authorize` hook, before a
 * single byte from the peer is read.
 */
export class PeerPolicy {
  private readonly ownUid = process.getuid?.() ?? 0;
  private readonly policy: PeerPolicyConfig;

  constructor(peers: PeerPolicyConfig | undefined) {
    this.policy = peers ?? { uids: [], gids: [], authorize: undefined };
  }

  /** Why `peer` may not talk to `service`, or undefined when it may. Never throws. */
  refusal(peer: PeerIdentity, service: string): string | undefined {
    const { uids, gids, authorize } = this.policy;
    if (peer.uid !== this.ownUid && !uids.includes(peer.uid) && !gids.includes(peer.gid)) {
      const allowed = [`uid ${this.ownUid}`, ...uids.map((uid) => `uid ${uid}`), ...gids.map((gid) => `gid ${gid}`)].join(', ');
      return `uid ${peer.uid} (gid ${peer.gid}) is not allowed (allowed: ${allowed})`;
    }
    if (!authorize) return undefined;
    let verdict: unknown;
    try {
      verdict = authorize({ pid: peer.pid, uid: peer.uid, gid: peer.gid }, service);
    } catch (error) {
      return `the authorize hook failed: ${(error as Error)?.message ?? String(error)}`;
    }
    if (verdict === true) return undefined;
    if (typeof verdict === 'string' && verdict !== '') return verdict;
    return 'refused by the authorize hook';
  }

  /** The typed error a refused peer receives. */
  error(peer: PeerIdentity, service: string, reason: string): PeerRefusedError {
    return new PeerRefusedError(`${service} refused the connection from pid ${peer.pid}: ${reason}`, {
      data: { pid: peer.pid, uid: peer.uid, gid: peer.gid, service, reason },
    });
  }
}

/** The peer of a connected Unix socket, or undefined if the kernel cannot say (then: refuse). */
export function socketPeer(socket: Socket): PeerIdentity | undefined {
  try {
    return peerCredentials(socket);
  } catch {
    return undefined;
  }
}

const logged = new Set<string>();

/** One warning per refused process (pid and uid), however often it retries. */
export function logRefusal(logger: Logger, peer: PeerIdentity, service: string, reason: string): void {
  const key = `${service}:${peer.pid}:${peer.uid}`;
  if (logged.has(key)) return;
  if (logged.size > 4096) logged.clear();
  logged.add(key);
  logger.warn(`refused connection to ${service} from pid ${peer.pid} (uid ${peer.uid}, gid ${peer.gid}): ${reason}`);
}

/**
 * Refuses a handshake socket (shm, fifo): one JSON line carrying the typed error (`refused`,
 * revived by the client as PeerRefusedError; `error` for older clients), then disconnect.
 */
export function refuseHandshake(socket: Socket, policy: PeerPolicy, peer: PeerIdentity | undefined, service: string, reason: string, logger: Logger): void {
  const who = peer ?? { pid: -1, uid: -1, gid: -1 };
  logRefusal(logger, who, service, reason);
  sendHandshakeRefusal(socket, policy.error(who, service, reason));
}

/** Ends a handshake socket with `error` as its one reply line; the client's connect() rejects with it. */
export function sendHandshakeRefusal(socket: Socket, error: Error): void {
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  socket.end(JSON.stringify({ v: 1, error: error.message, refused: toWireError(error) }) + '\n');
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/** The typed refusal in a handshake reply, if the service sent one. */
export function handshakeRefusal(reply: { refused?: unknown }, context: string): Error | undefined {
  if (reply.refused === undefined) return undefined;
  return fromWireError(reply.refused, context);
}
