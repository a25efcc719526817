import { X509Certificate } from 'node:crypto';
import { connect, type Server, type Socket } from 'node:net';
import { createServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSigned } from '../../test/helpers/certs.js';
import { altNamesOf, describeCertificate, legacyVersions, looksLikeTls, tlsEvidence } from './tls.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const open = (port: number) => (): Promise<Socket | undefined> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });

async function tlsServer(options: Parameters<typeof createServer>[0]): Promise<number> {
  const server = createServer(options, (s) => {
    s.on('error', () => undefined);
    s.end();
  });
  server.on('tlsClientError', () => undefined);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('certificates', () => {
  const c = selfSigned('cert.test', { san: 'DNS:cert.test,DNS:www.cert.test,IP:198.18.0.5' });
  const x = new X509Certificate(c.cert);

  it('describes subject, names, key and validity', () => {
    const info = describeCertificate(x);
    expect(info.subject).toBe('CN=cert.test, O=portolan test');
    expect(info.altNames).toEqual(['cert.test', 'www.cert.test', '198.18.0.5']);
    expect(info).toMatchObject({ selfSigned: true, expired: false, keyType: 'RSA', keyBits: 2048 });
    expect(info.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('knows an expired certificate', () => {
    const later = Date.parse(x.validTo) + 86_400_000;
    const info = describeCertificate(x, later);
    expect(info.expired).toBe(true);
    expect(tlsEvidence({ protocol: 'TLSv1.3', cipher: 'x', certificate: info }).map((e) => e.id)).toEqual(['tls-certificate-expired', 'tls-certificate-self-signed']);
  });

  it('reads subjectAltName strings defensively', () => {
    expect(altNamesOf(undefined)).toEqual([]);
    expect(altNamesOf('email:a@b, URI:x')).toEqual([]);
    expect(altNamesOf(`DNS:${'a'.repeat(5000)}`)[0]).toHaveLength(253);
    expect(altNamesOf(Array.from({ length: 1000 }, (_, i) => `DNS:h${i}`).join(', '))).toHaveLength(100);
  });
});

describe('legacy TLS versions', () => {
  const c = selfSigned('legacy.test');

  it('finds TLS 1.0 and 1.1 on a server that still accepts them', async () => {
    const port = await tlsServer({ ...c, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const found = await legacyVersions(open(port), { address: '127.0.0.1', port }, 2000);
    expect(found.sort()).toEqual(['TLSv1', 'TLSv1.1']);
    expect(tlsEvidence({ protocol: 'TLSv1.3', cipher: 'x', legacyVersions: found })[0]?.id).toBe('tls-legacy-version');
  });

  it('finds none on a modern server', async () => {
    const port = await tlsServer({ ...c, minVersion: 'TLSv1.2' });
    expect(await legacyVersions(open(port), { address: '127.0.0.1', port }, 2000)).toEqual([]);
  });
});

describe('looksLikeTls', () => {
  it('recognises handshake and alert records only', () => {
    expect(looksLikeTls(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x40]))).toBe(true);
    expect(looksLikeTls(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02]))).toBe(true);
    expect(looksLikeTls(Buffer.from('SSH-2.0-x'))).toBe(false);
    expect(looksLikeTls(Buffer.alloc(0))).toBe(false);
    expect(looksLikeTls(Buffer.from([0x16, 0x03]))).toBe(false);
  });
});
