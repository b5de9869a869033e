import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { BootstrapError } from '../../core/errors/errors';
import type { TlsFileOptions } from '../../core/tls-files';

/** The PEM material of `tls` options, read and checked once. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** The subject of this process's certificate, for logs. */
  subject: string;
  /** Its subject alternative names, as openssl prints them (`IP Address:10.0.0.1, DNS:localhost`). */
  altNames: string;
  /** Set when the certificate was not issued by the CA (peers trusting only it will refuse us). */
  warning?: string;
}

/**
 * Reads the CA, certificate and key files of the `tls` option and checks them: each file
 * exists and parses, the key belongs to the certificate and the CA issued it. Every
 * failure is a BootstrapError naming the option and the file.
 */
export function loadTlsMaterial(options: TlsFileOptions): TlsMaterial {
  const read = (field: keyof TlsFileOptions): Buffer => {
    const path = options[field];
    try {
      return readFileSync(path);
    } catch (error) {
      throw new BootstrapError(`cannot read tls.${field} file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  };
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  const parse = (field: 'ca' | 'cert', pem: Buffer): X509Certificate => {
    try {
      return new X509Certificate(pem);
    } catch (error) {
      throw new BootstrapError(`tls.${field} file ${options[field]} is not a PEM certificate: ${(error as Error).message}`, { cause: error });
    }
  };
  const caCert = parse('ca', ca);
  const ownCert = parse('cert', cert);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new BootstrapError(`tls.key file ${options.key} is not a PEM private key: ${(error as Error).message}`, { cause: error });
  }
  if (!ownCert.checkPrivateKey(privateKey)) {
    throw new BootstrapError(`tls.key file ${options.key} does not belong to the certificate in tls.cert file ${options.cert}`);
  }
  // Peers that trust only tls.ca will refuse a certificate it did not issue: worth a warning,
  // not a refusal (the peers may trust another CA as well).
  const warning =
    ownCert.checkIssued(caCert) && ownCert.verify(caCert.publicKey)
      ? undefined
      : `tls.cert file ${options.cert} (${ownCert.subject.replace(/\n/g, ', ')}) was not issued by the CA in tls.ca file ${options.ca} (${caCert.subject.replace(/\n/g, ', ')}): peers that trust only that CA will refuse it`;
  const now = Date.now();
  if (Date.parse(ownCert.validTo) < now || Date.parse(ownCert.validFrom) > now) {
    throw new BootstrapError(`tls.cert file ${options.cert} is not valid now (valid from ${ownCert.validFrom} to ${ownCert.validTo})`);
  }
  return { ca, cert, key, subject: ownCert.subject.replace(/\n/g, ', '), altNames: ownCert.subjectAltName ?? '', warning };
}

/** 127.0.0.0/8, ::1 and `localhost`: where plaintext TCP stays on this host. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '::ffff:127.0.0.1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Errors of a TLS handshake (as opposed to the network under it). */
export function isTlsFailure(error: NodeJS.ErrnoException & { library?: string; reason?: string }): boolean {
  const code = error.code ?? '';
  return (
    /^(ERR_SSL_|ERR_TLS_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE)/.test(code) ||
    error.library !== undefined ||
    /alert|certificate|handshake/i.test(error.message)
  );
}
