/**
 * TLS for the probe runner: a handshake on any port (not only 443), what it tells (version, cipher,
 * certificate), and the legacy-version safe check. Certificates are never validated against a trust
 * store here: the point is to describe them (self-signed, expired, key size), not to trust them.
 */
import { X509Certificate } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { CertificateInfo, Evidence, TlsInfo } from '../core/model.js';
import type { Target } from './types.js';

/** Old servers need old ciphers and signature algorithms: describe them, don't refuse them. */
const PERMISSIVE: ConnectionOptions = { rejectUnauthorized: false, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' };

function sni(target: Target): string | undefined {
  return target.hostname !== undefined && isIP(target.hostname) === 0 ? target.hostname : undefined;
}

/** Handshake on a connected socket; undefined when the peer is not TLS or does not finish in `ms`. */
export function connectTls(raw: Socket, target: Target, ms: number, extra: ConnectionOptions = {}): Promise<{ socket: TLSSocket; info: TlsInfo } | undefined> {
  if (ms <= 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const servername = sni(target);
    const socket = tlsConnect({ ...PERMISSIVE, ...extra, socket: raw, ...(servername !== undefined && { servername }) });
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onError);
      if (!ok) {
        socket.destroy();
        resolve(undefined);
        return;
      }
      resolve({ socket, info: tlsInfoOf(socket) });
    };
    const onSecure = (): void => done(true);
    const onError = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
    socket.once('close', onError);
  });
}

/** What a finished handshake negotiated, and the server certificate. */
export function tlsInfoOf(socket: TLSSocket): TlsInfo {
  const info: TlsInfo = { protocol: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher()?.name ?? 'unknown' };
  if (typeof socket.alpnProtocol === 'string') info.alpn = socket.alpnProtocol;
  try {
    const cert = socket.getPeerX509Certificate();
    if (cert) info.certificate = describeCertificate(cert);
  } catch {
    // A certificate Node cannot parse: leave it out rather than fail the port.
  }
  return info;
}

/** A certificate as facts: names, validity, issuer, key. Pure apart from `now`. */
export function describeCertificate(cert: X509Certificate, now = Date.now()): CertificateInfo {
  const validTo = Date.parse(cert.validTo);
  const validFrom = Date.parse(cert.validFrom);
  let selfSigned = false;
  try {
    selfSigned = cert.subject === cert.issuer && cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    selfSigned = cert.subject === cert.issuer;
  }
  const info: CertificateInfo = {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    altNames: altNamesOf(cert.subjectAltName),
    validFrom: Number.isFinite(validFrom) ? new Date(validFrom).toISOString() : cert.validFrom,
    validTo: Number.isFinite(validTo) ? new Date(validTo).toISOString() : cert.validTo,
    selfSigned,
    expired: Number.isFinite(validTo) && validTo < now,
    fingerprint256: cert.fingerprint256,
    serialNumber: cert.serialNumber,
  };
  const key = cert.publicKey;
  const type = key.asymmetricKeyType;
  if (type !== undefined) info.keyType = type === 'rsa' || type === 'rsa-pss' ? 'RSA' : type === 'ec' ? 'EC' : type === 'ed25519' ? 'Ed25519' : type === 'ed448' ? 'Ed448' : type.toUpperCase();
  const details = key.asymmetricKeyDetails;
  if (details?.modulusLength !== undefined) info.keyBits = details.modulusLength;
  else if (details?.namedCurve !== undefined) {
    const bits = /(\d{3})/.exec(details.namedCurve);
    if (bits) info.keyBits = Number(bits[1]);
  } else if (type === 'ed25519') info.keyBits = 256;
  return info;
}

/** `CN=a\nO=b` → `CN=a, O=b`; bounded. */
function oneLine(dn: string): string {
  return dn.split('\n').filter((p) => p !== '').join(', ').slice(0, 512);
}

/** `DNS:a.example, IP Address:198.18.0.1` → [`a.example`, `198.18.0.1`]; bounded. */
export function altNamesOf(san: string | undefined): string[] {
  if (san === undefined) return [];
  const out: string[] = [];
  for (const part of san.split(/,\s*/).slice(0, 100)) {
    const m = /^(?:DNS|IP Address):(.*)$/.exec(part);
    if (m && m[1] !== undefined && m[1] !== '') out.push(m[1].slice(0, 253));
  }
  return out;
}

/**
 * The safe checks a TLS description implies: a legacy protocol accepted, an expired or self-signed
 * certificate, a short RSA key.
 */
export function tlsEvidence(info: TlsInfo): Evidence[] {
  const out: Evidence[] = [];
  const legacy = new Set([...(info.legacyVersions ?? []), ...(/^(?:TLSv1|TLSv1\.1|SSLv3)$/.test(info.protocol) ? [info.protocol] : [])]);
  if (legacy.size > 0) out.push({ id: 'tls-legacy-version', detail: `accepts ${[...legacy].sort().join(', ')}` });
  const c = info.certificate;
  if (c?.expired) out.push({ id: 'tls-certificate-expired', detail: `certificate expired ${c.validTo}` });
  if (c?.selfSigned) out.push({ id: 'tls-certificate-self-signed', detail: `self-signed certificate ${c.subject}` });
  if (c?.keyType === 'RSA' && c.keyBits !== undefined && c.keyBits < 2048) out.push({ id: 'tls-weak-key', detail: `RSA key of ${c.keyBits} bits` });
  return out;
}

/**
 * Which legacy protocols (TLSv1.1, TLSv1) the server still accepts, with separate handshakes on
 * fresh connections from `open`. Empty when none (or when they cannot be tested in time).
 */
export async function legacyVersions(open: () => Promise<Socket | undefined>, target: Target, ms: number): Promise<string[]> {
  const accepted: string[] = [];
  for (const version of ['TLSv1.1', 'TLSv1'] as const) {
    const raw = await open();
    if (!raw) break;
    const r = await connectTls(raw, target, ms, { minVersion: version, maxVersion: version });
    if (r) {
      accepted.push(r.info.protocol);
      r.socket.destroy();
    } else raw.destroy();
  }
  return [...new Set(accepted)];
}

/** True when the first bytes look like a TLS record (handshake or alert) from a server. */
export function looksLikeTls(data: Buffer): boolean {
  return data.length >= 3 && (data[0] === 0x16 || data[0] === 0x15) && data[1] === 0x03 && (data[2] ?? 9) <= 0x04;
}
