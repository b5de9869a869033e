import { MessageQueue, PosixError } from '@hostmesh/native';
import { inject, injectable } from 'inversify';
import { ServiceUnavailableError } from '../../core/errors/errors';
import type { Logger } from '../../core/logger';
import type { RuntimeDir } from '../../core/runtime-dir';
import { TRANSPORT_CONTEXT, type TransportContext } from '../contract/plugin';
import type { Connection, ConnectRequest, ListenRequest, Transport, TransportAddress, TransportServer } from '../contract/transport';
import { InflightJournal } from './inflight-journal';
import { MQUEUE_OPTIONS, type MqueueOptions } from './mqueue.options';
import { QueueReaderConnection } from './queue-reader.connection';
import { QueueWriterConnection } from './queue-writer.connection';

/**
 * POSIX message queues for typed events: one queue per subscribing service (its consumer
 * group), named /hm.<uid>.<namespace>.<key>.ev.<service>, 0600. The queue outlives its
 * consumer, so events published while a subscriber restarts wait in the kernel; those it
 * had taken but not finished handling wait in its in-flight journal
 * (/hm.<uid>.<namespace>.<key>.evjournal.<service>.<instance>, see InflightJournal).
 * A service with replicas that subscribes to events with an ordering key has one more
 * queue per replica, `….ev.<service>.p<n>`: publishers put each such event in partition
 * FNV-1a(key) mod replicas, and replica n alone reads partition n (journal `….keyed`).
 * Queue depth and message size come from the configuration (`mqueue`), within
 * fs.mqueue.msg_max and fs.mqueue.msgsize_max; beyond them the error names the sysctl.
 */
@injectable('Singleton')
export class MqueueTransport implements Transport {
  readonly kind = 'mqueue' as const;

  private readonly logger: Logger;
  private readonly dir: RuntimeDir;
  private readonly gracePeriodMs: number;

  constructor(
    @inject(MQUEUE_OPTIONS) private readonly options: MqueueOptions,
    @inject(TRANSPORT_CONTEXT) context: TransportContext,
  ) {
    if (!context.runtimeDir) throw new TypeError('the mqueue transport names its queues in a runtime directory: none was given');
    this.dir = context.runtimeDir;
    this.logger = context.logger.child('mqueue');
    this.gracePeriodMs = context.gracePeriodMs;
  }

  async listen(request: ListenRequest): Promise<TransportServer> {
    const name = this.dir.objectName(`ev.${request.service}`);
    const shared = await this.reader(name, `evjournal.${request.service}.${request.instance}`, request, request.ordered === true);
    const partitions = request.partitions ?? 1;
    let partition: Awaited<ReturnType<MqueueTransport['reader']>> | undefined;
    if (partitions > 1) {
      try {
        partition = await this.openPartitions(name, partitions, request);
      } catch (error) {
        shared.reader.close();
        throw error;
      }
    }
    const readers = partition === undefined ? [shared.reader] : [shared.reader, partition.reader];
    const attributes = shared.queue.attributes();
    const address: TransportAddress = {
      kind: 'mqueue',
      queue: name,
      depth: attributes.maxMessages,
      messageSize: attributes.messageSize,
      ...(partitions > 1 ? { partitions } : {}),
    };
    return {
      address,
      stopAccepting: async () => readers.forEach((reader) => reader.pause()),
      dispose: async () => readers.forEach((reader) => reader.close()),
      describe: () => ({
        ...describeQueue(name, shared.queue, shared.reader),
        ...(partition === undefined ? {} : { partition: describeQueue(partition.queue.name, partition.queue, partition.reader) }),
      }),
    };
  }

  /**
   * Every partition queue exists once any replica has started, so publishers never find one
   * missing; this replica reads the one of its instance number, with a journal of its own.
   */
  private async openPartitions(name: string, partitions: number, request: ListenRequest) {
    const { depth, messageSize } = this.options;
    for (let p = 0; p < partitions; p++) {
      if (String(p) !== request.instance) MessageQueue.create(`${name}.p${p}`, { maxMessages: depth, messageSize }).close();
    }
    const own = Number(request.instance);
    if (!(Number.isInteger(own) && String(own) === request.instance && own < partitions)) {
      this.logger.warn(
        `instance '${request.instance}' of ${request.service} is not one of 0..${partitions - 1}: it takes no partition of the events with an ordering key`,
      );
      return undefined;
    }
    return this.reader(`${name}.p${own}`, `evjournal.${request.service}.${request.instance}.keyed`, request, true);
  }

  private async reader(queueName: string, journalName: string, request: ListenRequest, ordered: boolean) {
    const { depth, messageSize } = this.options;
    const queue = MessageQueue.create(queueName, { maxMessages: depth, messageSize });
    let opened: Awaited<ReturnType<typeof InflightJournal.open>>;
    try {
      // A previous run of this instance may still be stopping: it gets its grace period to let go.
      opened = await InflightJournal.open(this.dir.objectName(journalName), this.options.inFlight, queue.attributes().messageSize, this.gracePeriodMs + 1000);
    } catch (error) {
      queue.close();
      throw error;
    }
    const reader = new QueueReaderConnection(queue, request.maxPayloadBytes, opened.journal, this.logger, opened.dropped, ordered);
    request.onConnection(reader);
    return { queue, reader };
  }

  async connect(address: TransportAddress, request: ConnectRequest): Promise<Connection> {
    if (address.kind !== 'mqueue' || typeof address.queue !== 'string') throw new TypeError(`mqueue transport cannot connect to a ${address.kind} address`);
    try {
      return new QueueWriterConnection(MessageQueue.open(address.queue), this.dir.objectScope(), request.priorityOf);
    } catch (error) {
      if (PosixError.is(error, 'ENOENT'))
        throw new ServiceUnavailableError(`event queue ${address.queue} does not exist (the subscriber never started, or it was removed)`, { cause: error });
      throw error;
    }
  }
}

function describeQueue(name: string, queue: MessageQueue, reader: QueueReaderConnection): Record<string, unknown> {
  try {
    const now = queue.attributes();
    return { kind: 'mqueue', queue: name, depth: now.maxMessages, messages: now.currentMessages, messageSize: now.messageSize, inFlight: reader.inFlight };
  } catch {
    return { kind: 'mqueue', queue: name, closed: true };
  }
}
