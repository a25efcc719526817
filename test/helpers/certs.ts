/** Test certificates made with the openssl CLI at test time (nothing secret is committed). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  key: string;
  cert: string;
}

/** A self-signed certificate for `cn` with an RSA key of `bits` and the given SANs. */
export function selfSigned(cn: string, opts: { bits?: number; days?: number; san?: string } = {}): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-cert-'));
  try {
    const args = ['req', '-x509', '-newkey', `rsa:${opts.bits ?? 2048}`, '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', String(opts.days ?? 30), '-subj', `/CN=${cn}/O=portolan test`];
    if (opts.san) args.push('-addext', `subjectAltName=${opts.san}`);
    execFileSync('openssl', args, { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
