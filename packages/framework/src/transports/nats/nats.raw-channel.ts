import { OptionReader } from '../../core/options';
import type { RawChannelFactory } from '../contract/plugin';
import { connectionChannel, RAW_CONNECT, rawTransportContext } from '../kit/raw-channel';
import { resolveNatsOptions, type NatsOptions } from './nats.options';
import { NatsTransport } from './nats.transport';

/** Raw bytes on a NATS listener: a real open handshake, then bytes published as they are (no framing, no checks). */
export const natsRawChannel: RawChannelFactory = async (address, context) => {
  const options = resolveNatsOptions(context.input as NatsOptions | undefined, new OptionReader(context.env), context.tls);
  if (!options) throw new Error('the nats raw channel has no NATS servers: set HOSTMESH_NATS_SERVERS (useNatsServer does) or nats.servers');
  const transport = new NatsTransport(options, rawTransportContext(context));
  return connectionChannel(await transport.connect(address, RAW_CONNECT));
};
