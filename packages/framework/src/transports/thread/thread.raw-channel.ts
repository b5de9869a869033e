import { OptionReader } from '../../core/options';
import type { RawChannelFactory } from '../contract/plugin';
import { connectionChannel, RAW_CONNECT, rawTransportContext } from '../kit/raw-channel';
import { resolveThreadOptions, type ThreadOptionsInput } from './thread.options';
import { ThreadTransport } from './thread.transport';

/** Raw bytes on a thread listener (of this process): a real rendezvous, then records written as they are (no framing, no checks). */
export const threadRawChannel: RawChannelFactory = async (address, context) => {
  const options = resolveThreadOptions(context.input as ThreadOptionsInput | undefined, new OptionReader(context.env));
  const transport = new ThreadTransport(options, rawTransportContext(context));
  return connectionChannel(await transport.connect(address, RAW_CONNECT));
};
