import { connect } from 'node:net';
import type { RawChannelFactory } from '../contract/plugin';
import { socketChannel } from '../kit/raw-channel';

/** Raw bytes on a Unix socket listener: a plain connection, no handshake. */
export const udsRawChannel: RawChannelFactory = async (address) => {
  if (address.kind !== 'uds') throw new TypeError(`the uds raw channel cannot reach a ${address.kind} address`);
  return socketChannel(connect(address.path));
};
