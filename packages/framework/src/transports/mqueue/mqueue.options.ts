import { MessageQueue } from '@hostmesh/native';
import type { OptionReader } from '../../core/options';
import type { ManifestLimit } from '../contract/plugin';

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

/** What a manifest may set per service (`limits.mqueueDepth`, …), and the variables that carry them. */
export const MQUEUE_LIMITS = {
  mqueueDepth: {
    env: 'HOSTMESH_MQUEUE_DEPTH',
    description: 'Messages each of its event queues holds (fs.mqueue.msg_max bounds it without CAP_SYS_RESOURCE).',
    minimum: 1,
    maximum: 65536,
  },
  mqueueMessageSize: {
    env: 'HOSTMESH_MQUEUE_MESSAGE_SIZE',
    description:
      'Bytes of each message of its event queues (fs.mqueue.msgsize_max bounds it); larger events keep their body in a shared-memory segment the message names.',
    minimum: 128,
    maximum: 16 << 20,
  },
  mqueueInFlight: {
    env: 'HOSTMESH_MQUEUE_IN_FLIGHT',
    description: 'Queue messages the service handles at once (its in-flight journal); beyond it events wait in its queue.',
    minimum: 1,
    maximum: 4096,
  },
} as const satisfies Record<string, ManifestLimit>;

/** Injection token of the resolved MqueueOptions. */
export const MQUEUE_OPTIONS = Symbol.for('hostmesh:mqueue-options');

export function resolveMqueueOptions(input: MqueueOptionsInput | undefined, read: OptionReader): MqueueOptions {
  // The kernel's limits are read only when no value is given.
  const limits = () => MessageQueue.limits();
  return {
    depth: read.positive(
      'mqueue.depth',
      input?.depth ?? read.numberEnv(MQUEUE_LIMITS.mqueueDepth.env) ?? Math.min(limits().msgMax ?? 10, 256),
      MQUEUE_LIMITS.mqueueDepth.maximum,
    ),
    messageSize: read.positive(
      'mqueue.messageSize',
      input?.messageSize ?? read.numberEnv(MQUEUE_LIMITS.mqueueMessageSize.env) ?? Math.min(limits().msgsizeMax ?? 8192, 65536),
      MQUEUE_LIMITS.mqueueMessageSize.maximum,
    ),
    inFlight: read.positiveInteger(
      'mqueue.inFlight',
      input?.inFlight ?? read.numberEnv(MQUEUE_LIMITS.mqueueInFlight.env) ?? 64,
      MQUEUE_LIMITS.mqueueInFlight.maximum,
    ),
  };
}
