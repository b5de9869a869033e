import { MessageQueue } from '@hostmesh/native';
import type { OptionReader } from '../../core/options';

/**
 * Event queues of subscribing services: depth (messages) and message size (bytes).
 * Defaults: what the kernel allows (fs.mqueue.msg_max, capped at 256; msgsize_max, capped at 64 KiB).
 * Env: HOSTMESH_MQUEUE_DEPTH, HOSTMESH_MQUEUE_MESSAGE_SIZE. Every queue counts depth × size
 * against the user's RLIMIT_MSGQUEUE (819200 bytes by default: ten 8 KiB × 10 queues).
 */
export interface MqueueOptionsInput {
  depth?: number;
  messageSize?: number;
  /**
   * Queue messages a subscriber handles at once (default 64; env HOSTMESH_MQUEUE_IN_FLIGHT):
   * each stays in its in-flight journal until its handlers finish, and when all are busy
   * the rest wait in the kernel queue.
   */
  inFlight?: number;
}

export interface MqueueOptions {
  depth: number;
  messageSize: number;
  inFlight: number;
}

/** Injection token of the resolved MqueueOptions. */
export const MQUEUE_OPTIONS = Symbol.for('hostmesh:mqueue-options');

export function resolveMqueueOptions(input: MqueueOptionsInput | undefined, read: OptionReader): MqueueOptions {
  // The kernel's limits are read only when no value is given.
  const limits = () => MessageQueue.limits();
  return {
    depth: read.positive('mqueue.depth', input?.depth ?? read.numberEnv('HOSTMESH_MQUEUE_DEPTH') ?? Math.min(limits().msgMax ?? 10, 256), 65536),
    messageSize: read.positive(
      'mqueue.messageSize',
      input?.messageSize ?? read.numberEnv('HOSTMESH_MQUEUE_MESSAGE_SIZE') ?? Math.min(limits().msgsizeMax ?? 8192, 65536),
      16 << 20,
    ),
    inFlight: read.positiveInteger('mqueue.inFlight', input?.inFlight ?? read.numberEnv('HOSTMESH_MQUEUE_IN_FLIGHT') ?? 64, 4096),
  };
}
