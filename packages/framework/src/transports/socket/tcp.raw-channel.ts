import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { RawChannelFactory } from '../contract/plugin';
import { socketChannel } from '../kit/raw-channel';

/**
 * Raw bytes on a TCP listener: a plain connection, or, to a listener that announces
 * `tls: true`, a TLS one presenting the context's files (tests pass their test certificates).
 */
export const tcpRawChannel: RawChannelFactory = async (address, context) => {
  if (address.kind !== 'tcp') throw new TypeError(`the tcp raw channel cannot reach a ${address.kind} address`);
  const { host, port } = address;
  if ((address as { tls?: unknown }).tls !== true) return socketChannel(connect({ host, port }));
  if (!context.tls) throw new Error(`the tcp listener ${host}:${port} is TLS: give the raw channel tls files (rawChannelFactory's tls option)`);
  const { ca, cert, key } = context.tls;
  // TLS 1.2, as the transport does: the handshake ends after the server has checked our certificate.
  const socket = tlsConnect({ host, port, ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key), maxVersion: 'TLSv1.2' });
  return socketChannel(socket, 'secureConnect');
};
