import type { Socket } from 'node:net';
import { toWireError } from '../../core/errors/wire';
import type { Logger } from '../../core/logger';
import { logRefusal, REFUSED_LINGER_MS, socketPeer, type PeerIdentity, type PeerPolicy } from '../../core/peer-policy';
import { encodeStatelessFrame } from '../../protocol/codec';
import { CONNECTION_ERROR_ID, FrameKind } from '../../protocol/frame';

/**
 * Checks a freshly accepted frame socket (the UDS RPC listener). A refused peer is sent one
 * connection-level error frame (correlation id 0: its client fails its calls with
 * PeerRefusedError), its bytes are discarded unread, and it is disconnected. Returns the
 * peer's identity when admitted, undefined when refused.
 */
export function admitFrameSocket(socket: Socket, policy: PeerPolicy, service: string, logger: Logger, maxPayloadBytes: number): PeerIdentity | false {
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
