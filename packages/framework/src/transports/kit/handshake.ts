import type { Socket } from 'node:net';
import type { Logger } from '../../core/logger';
import { refuseHandshake, sendHandshakeRefusal, socketPeer, type PeerIdentity, type PeerPolicy } from '../../core/peer-policy';
import type { ListenRequest } from '../contract/transport';
import { readLine } from './line-socket';

/** How long a handshake may take before the socket is dropped. */
export const HANDSHAKE_MS = 5000;

/** The peer's identity, and what else its hello line said (its options: `returns` over shm). */
export type HandshakePeer = PeerIdentity & { hello: Readonly<Record<string, unknown>> };

/**
 * The service's side of a handshake socket (shm, fifo), up to the point where the transport
 * builds its channel: the peer policy is checked on SO_PEERCRED before a byte is read, the
 * peer's hello must claim the pid the kernel reports (channels are named after it), and the
 * service must admit one more connection. Returns the peer, or undefined when it was refused
 * (it was told why, with a typed error).
 */
export async function acceptHandshake(socket: Socket, request: ListenRequest, policy: PeerPolicy, logger: Logger): Promise<HandshakePeer | undefined> {
  const credentials = socketPeer(socket);
  const refusal = credentials ? policy.refusal(credentials, request.service) : 'the kernel gave no peer credentials';
  if (!credentials || refusal !== undefined) {
    refuseHandshake(socket, policy, credentials, request.service, refusal!, logger);
    return undefined;
  }
  const hello = (await readLine(socket, HANDSHAKE_MS)) as { pid?: unknown; [option: string]: unknown };
  if (hello.pid !== credentials.pid) {
    refuseHandshake(socket, policy, credentials, request.service, `claimed pid ${String(hello.pid)} but the kernel says ${credentials.pid}`, logger);
    return undefined;
  }
  const busy = request.admit?.();
  if (busy !== undefined) {
    sendHandshakeRefusal(socket, busy);
    return undefined;
  }
  return { ...credentials, hello };
}
