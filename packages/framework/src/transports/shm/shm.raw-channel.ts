import { OptionReader } from '../../core/options';
import type { RawChannelFactory } from '../contract/plugin';
import { connectionChannel, RAW_CONNECT, rawTransportContext } from '../kit/raw-channel';
import { resolveShmOptions, type ShmOptionsInput } from './shm.options';
import { ShmTransport } from './shm.transport';

/** Raw bytes on a shm listener: a real handshake, then ring messages written as they are (no framing, no checks). */
export const shmRawChannel: RawChannelFactory = async (address, context) => {
  const options = resolveShmOptions(context.input as ShmOptionsInput | undefined, new OptionReader(context.env));
  const transport = new ShmTransport(options, rawTransportContext(context));
  return connectionChannel(await transport.connect(address, RAW_CONNECT));
};
