import type { Socket } from 'node:net';
import { peerCredentials } from '@hostmesh/native';
import { PeerRefusedError } from '../errors/errors';
import { fromWireError, toWireError } from '../errors/wire';
import { encodeStatelessFrame } from '../protocol/codec';
import { CONNECTION_ERROR_ID, FrameKind } from '../protocol/frame';
import type { MeshConfig, PeerIdentity, PeerPolicyConfig } from '../runtime/config';
import type { Logger } from '../runtime/logger';

/** How long a refused socket may linger (its unread bytes discarded) before it is destroyed. */
const REFUSED_LINGER_MS = 1000;

/**
 * Who may connect to a service's Unix sockets. The kernel's SO_PEERCRED (recorded at
 * connect time, unforgeable) is checked against the allow-list (the service's own uid,
 * plus `peers.uids` / `peers.gids`), then against the `peers.authorize` hook, before a
 * single byte from the peer is read.
 */
export class PeerPolicy {
  private readonly ownUid = process.getuid?.() ?? 0;
  private readonly policy: PeerPolicyConfig;

  constructor(config: Pick<MeshConfig, 'peers'> | undefined) {
    this.policy = config?.peers ?? { uids: [], gids: [], authorize: undefined };
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

/**
 * Checks a freshly accepted frame socket (the UDS RPC listener). A refused peer is sent one
 * connection-level error frame (correlation id 0: its client fails its calls with
 * PeerRefusedError), its bytes are discarded unread, and it is disconnected. Returns the
 * peer's identity when admitted, undefined when refused.
 */
export function admitFrameSocket(
  socket: Socket,
  policy: PeerPolicy,
  service: string,
  logger: Logger,
  maxPayloadBytes: number,
): PeerIdentity | false {
  const peer = socketPeer(socket);
  const reason = peer ? policy.refusal(peer, service) : 'the kernel gave no peer credentials';
  if (peer && reason === undefined) return peer;
  const who = peer ?? { pid: -1, uid: -1, gid: -1 };
  const error = policy.error(who, service, reason!);
  logRefusal(logger, who, service, reason!);
  socket.on('data', () => undefined); // never parsed, only drained so closing cannot reset the refusal
  socket.on('error', () => undefined);
  try {
    socket.end(encodeStatelessFrame(FrameKind.Error, CONNECTION_ERROR_ID, 0, toWireError(error), maxPayloadBytes));
  } catch {
    socket.destroy();
  }
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  return false;
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
