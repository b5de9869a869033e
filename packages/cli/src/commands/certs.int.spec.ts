import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempRuntimeDir } from '@hostmesh/framework/testing';
import { hostmesh } from '../__fixtures__/cli';

describe('hostmesh certs', () => {
  const dir = tempRuntimeDir('hm-certs-cli-');
  const out = join(dir.path, 'pki');
  const env = { NO_COLOR: '1' };
  afterAll(() => dir.remove());

  it('creates a CA and one certificate per host, signed by it, with the SANs asked for plus loopback, all 0600', async () => {
    const result = await hostmesh(['certs', '--out', out, '--hosts', 'alpha=10.77.0.2,beta=10.77.0.3+beta.internal'], env);
    expect(result.code).toBe(0);
    expect(result.output).toContain(`created CA ${join(out, 'ca.crt')}`);
    expect(result.output).toContain(`export HOSTMESH_TLS_CA=${join(out, 'ca.crt')} HOSTMESH_TLS_CERT=${join(out, 'alpha.crt')}`);
    expect(readdirSync(out).sort()).toEqual(['alpha.crt', 'alpha.key', 'beta.crt', 'beta.key', 'ca.crt', 'ca.key']);
    for (const file of readdirSync(out)) expect((statSync(join(out, file)).mode & 0o777).toString(8)).toBe('600');

    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    expect(ca.ca).toBe(true);
    const expected: Record<string, string[]> = {
      alpha: ['IP Address:10.77.0.2', 'DNS:alpha', 'IP Address:127.0.0.1', 'DNS:localhost'],
      beta: ['IP Address:10.77.0.3', 'DNS:beta.internal', 'DNS:beta', 'IP Address:127.0.0.1', 'DNS:localhost'],
    };
    for (const [host, sans] of Object.entries(expected)) {
      const cert = new X509Certificate(readFileSync(join(out, `${host}.crt`)));
      expect(cert.ca).toBe(false);
      expect(cert.issuer).toBe(ca.subject);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subject).toBe(`CN=${host}`);
      expect(cert.subjectAltName!.split(', ')).toEqual(sans);
      expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])); // serverAuth, clientAuth
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(join(out, `${host}.key`))))).toBe(true);
      expect(cert.checkIP('10.77.0.9')).toBeUndefined();
      expect(execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, `${host}.crt`)]).toString()).toContain(': OK');
    }
  }, 30_000);

  it('reuses the CA already in the directory when adding a host', async () => {
    const caBefore = readFileSync(join(out, 'ca.crt'));
    const result = await hostmesh(['certs', '--out', out, '--hosts', 'gamma=10.77.0.4', '--json'], env);
    expect(result.code).toBe(0);
    const made = JSON.parse(result.output) as { reusedCa: boolean; hosts: Record<string, { cert: string }> };
    expect(made.reusedCa).toBe(true);
    expect(readFileSync(join(out, 'ca.crt'))).toEqual(caBefore);
    expect(new X509Certificate(readFileSync(made.hosts.gamma!.cert)).checkIssued(new X509Certificate(caBefore))).toBe(true);
  }, 30_000);

  it('says to install openssl when it is missing, and refuses a bad host list', async () => {
    const missing = await hostmesh(['certs', '--out', join(dir.path, 'none')], { ...env, PATH: '/nonexistent' });
    expect(missing).toEqual({ code: 1, output: expect.stringContaining('openssl not found: install openssl') });
    const bad = await hostmesh(['certs', '--out', join(dir.path, 'bad'), '--hosts', 'a b=1.2.3.4'], env);
    expect(bad).toEqual({ code: 1, output: expect.stringContaining("invalid host name 'a b'") });
  }, 30_000);
});
