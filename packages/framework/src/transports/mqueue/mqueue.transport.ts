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
    const { depth, messageSize } = this.options;
    const queue = MessageQueue.create(name, { maxMessages: depth, messageSize });
    const attributes = queue.attributes();
    let opened: Awaited<ReturnType<typeof InflightJournal.open>>;
    try {
      // A previous run of this instance may still be stopping: it gets its grace period to let go.
      const journal = this.dir.objectName(`evjournal.${request.service}.${request.instance}`);
      opened = await InflightJournal.open(journal, this.options.inFlight, attributes.messageSize, this.gracePeriodMs + 1000);
    } catch (error) {
      queue.close();
      throw error;
    }
    const reader = new QueueReaderConnection(queue, request.maxPayloadBytes, opened.journal, this.logger, opened.dropped);
    request.onConnection(reader);
    const address: TransportAddress = { kind: 'mqueue', queue: name, depth: attributes.maxMessages, messageSize: attributes.messageSize };
    return {
      address,
      stopAccepting: async () => reader.pause(),
      dispose: async () => reader.close(),
      describe: () => {
        try {
          const now = queue.attributes();
          return {
            kind: 'mqueue',
            queue: name,
            depth: now.maxMessages,
            messages: now.currentMessages,
            messageSize: now.messageSize,
            inFlight: reader.inFlight,
          };
        } catch {
          return { kind: 'mqueue', queue: name, closed: true };
        }
      },
    };
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
