import type { RawChannelFactory } from '../contract/plugin';
import { connectionChannel, RAW_CONNECT, rawTransportContext } from '../kit/raw-channel';
import { FifoTransport } from './fifo.transport';

/** Raw bytes on a fifo listener: a real handshake, then bytes written to the pipe as they are (no framing, no checks). */
export const fifoRawChannel: RawChannelFactory = async (address, context) => {
  const transport = new FifoTransport(rawTransportContext(context));
  return connectionChannel(await transport.connect(address, RAW_CONNECT));
};
