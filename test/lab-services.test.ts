/**
 * The service lab: every real daemon of the `svc` host answers from the scanner namespace over v4
 * (and v6 where it listens there) with a greeting or reply carrying the version the ground truth
 * read from dpkg, and the `hostile` host misbehaves as documented. All traffic stays inside the
 * namespaces this test creates (198.18.0.0/24, 2001:2::/64). Detection assertions live elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAEMON_NAMES, labUnavailableReason, startLab, upstreamVersion, type Lab, type LabService } from './lab/lab.js';

describe('upstreamVersion', () => {
  it('drops epoch, Debian revision and repack suffix', () => {
    expect(upstreamVersion('1:9.2p1-2+deb12u10')).toBe('9.2p1');
    expect(upstreamVersion('1:2.3.19.1+dfsg1-2.1+deb12u7')).toBe('2.3.19.1');
    expect(upstreamVersion('15.20-0+deb12u1')).toBe('15.20');
    expect(upstreamVersion('5:7.0.15-1~deb12u10')).toBe('7.0.15');
    expect(upstreamVersion('3.0.3-13+b2')).toBe('3.0.3');
    expect(upstreamVersion('2.4.71-1~deb12u1')).toBe('2.4.71');
    expect(upstreamVersion('1.6.18')).toBe('1.6.18');
  });
});

/** One connection from the scanner namespace: optional TLS, optional bytes to send, read until `expect` matches. */
interface Talk {
  key: string;
  host: string;
  port: number;
  tls?: boolean;
  sendHex?: string;
  expect: string;
  ms?: number;
}
interface Heard {
  key: string;
  got: string;
  bytes: number;
  matched: boolean;
  error: string | null;
  closed: boolean;
}

// Runs inside the scanner namespace: every connection in parallel, each bounded in time and bytes.
const TALK = `
const net = require('node:net'), tls = require('node:tls');
const jobs = JSON.parse(process.argv[1]);
Promise.all(jobs.map((j) => new Promise((done) => {
  const re = new RegExp(j.expect);
  let got = Buffer.alloc(0), bytes = 0, error = null, closed = false, finished = false;
  const opts = { host: j.host, port: j.port };
  const s = j.tls ? tls.connect({ ...opts, rejectUnauthorized: false, servername: 'svc.lab.test' }) : net.connect(opts);
  const finish = () => {
    if (finished) return; finished = true; clearTimeout(t); s.destroy();
    const text = got.toString('latin1');
    done({ key: j.key, got: text.slice(0, 400), bytes, matched: re.test(text), error, closed });
  };
  const t = setTimeout(finish, j.ms || 3000);
  s.once(j.tls ? 'secureConnect' : 'connect', () => { if (j.sendHex) s.write(Buffer.from(j.sendHex, 'hex')); });
  s.on('data', (d) => {
    bytes += d.length;
    if (got.length < 65536) got = Buffer.concat([got, d]);
    if (re.test(got.toString('latin1')) || bytes > 4 * 65536) finish();
  });
  s.on('error', (e) => { error = e.code || e.message; });
  s.on('close', () => { closed = true; finish(); });
}))).then((r) => console.log(JSON.stringify(r)));
`;

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// version.bind CH TXT over TCP (2-byte length prefix).
const DNS_VERSION_BIND = (() => {
  const q = Buffer.concat([
    Buffer.from([0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]),
    Buffer.from('\x07version\x04bind\x00', 'latin1'),
    Buffer.from([0x00, 0x10, 0x00, 0x03]),
  ]);
  return Buffer.concat([Buffer.from([0, q.length]), q]).toString('hex');
})();
// MQTT 3.1.1 CONNECT, client id "labc", clean session.
const MQTT_CONNECT = '101000044d5154540402003c00046c616263';
// PostgreSQL SSLRequest: the server answers 'N' (no TLS configured).
const PG_SSL_REQUEST = '0000000804d2162f';

/** What to send to a daemon's port and what its answer must contain (the version where it tells it). */
function talkFor(s: LabService, host: string): Talk {
  const v = esc(s.version);
  const base = { key: `${host} ${s.port}`, host, port: s.port };
  const http = hex('HEAD / HTTP/1.0\r\n\r\n');
  switch (s.daemon) {
    case 'ssh': return { ...base, expect: `^SSH-2\\.0-OpenSSH_${v}[ \\r]` };
    case 'ftp': return { ...base, expect: `^220 \\(vsFTPd ${v}\\)` };
    case 'smtp': return { ...base, expect: '^220 [^\\r\\n]* ESMTP Postfix \\(Debian/GNU\\)\\r\\n' };
    case 'dovecot': return { ...base, expect: s.service === 'imap' ? '^\\* OK .*Dovecot \\(Debian\\) ready\\.' : '^\\+OK Dovecot \\(Debian\\) ready\\.' };
    case 'mariadb': return { ...base, expect: `^[\\s\\S]{4}\\x0a[^\\x00]*${v}-MariaDB` };
    case 'nginx': return { ...base, tls: s.tunnel === 'ssl', sendHex: http, expect: `Server: nginx/${v}\\r\\n` };
    case 'apache': return { ...base, sendHex: http, expect: `Server: Apache/${v} \\(Debian\\)\\r\\n` };
    case 'redis': return { ...base, sendHex: hex('INFO server\r\n'), expect: `redis_version:${v}\\r\\n` };
    case 'memcached': return { ...base, sendHex: hex('version\r\n'), expect: `^VERSION ${v}\\r\\n` };
    case 'dns': return { ...base, sendHex: DNS_VERSION_BIND, expect: `${v}-` };
    case 'mqtt': return { ...base, sendHex: MQTT_CONNECT, expect: '^\\x20\\x02\\x00\\x00' };
    case 'postgresql': return { ...base, sendHex: PG_SSL_REQUEST, expect: '^N$' };
  }
}

const skip = labUnavailableReason();
let lab: Lab;

async function talk(jobs: Talk[]): Promise<Map<string, Heard>> {
  const r = await lab.exec([process.execPath, '-e', TALK, JSON.stringify(jobs)], { timeoutMs: 30_000 });
  expect(r.stderr).toBe('');
  return new Map((JSON.parse(r.stdout) as Heard[]).map((h) => [h.key, h]));
}

describe.skipIf(skip)(`service lab${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    lab = await startLab({ hosts: ['svc', 'hostile'] });
    console.log(`service lab up in ${lab.startupMs.toFixed(0)} ms: ${JSON.stringify(lab.serviceTimings)}`);
  });
  afterAll(async () => {
    await lab?.teardown();
  });

  it('has ground truth for every daemon port, with versions from dpkg', () => {
    expect(new Set(lab.services.map((s) => s.daemon))).toEqual(new Set(DAEMON_NAMES));
    for (const s of lab.services) {
      expect(s.version, s.daemon).toMatch(/^\d+(\.\d+)+[a-z0-9]*$/);
      expect(s.packageVersion, s.daemon).toContain(s.version);
      expect(s.address).toBe(lab.hosts.svc.v4);
    }
    expect(lab.services.find((s) => s.port === 443)).toMatchObject({ daemon: 'nginx', service: 'http', tunnel: 'ssl' });
  });

  it('reaches every daemon from the scanner namespace, v4 and v6, and hears its version', async () => {
    const jobs = lab.services.flatMap((s) => [talkFor(s, s.address), ...(s.address6 ? [talkFor(s, s.address6)] : [])]);
    const heard = await talk(jobs);
    const wrong = jobs.flatMap((j) => {
      const h = heard.get(j.key);
      return h?.matched ? [] : [`${j.key}: want /${j.expect}/, got ${JSON.stringify(h?.got)} (${h?.error ?? 'no error'})`];
    });
    expect(wrong).toEqual([]);
  });

  it('runs the hostile host as documented', async () => {
    const at = (port: number) => ({ key: String(port), host: lab.hosts.hostile.v4, port });
    const heard = await talk([
      { ...at(40001), expect: '^x', ms: 500 },
      { ...at(40002), expect: '^$', ms: 1500 },
      { ...at(40003), expect: '^2', ms: 2500 },
      { ...at(40004), expect: '^x', ms: 1000 },
      { ...at(40005), expect: '^x', ms: 1000 },
      { ...at(40006), sendHex: hex('\x16\x03\x01hello'), expect: '^[\\s\\S]{256}', ms: 1500 },
      { ...at(40007), expect: '^220 A{60000}', ms: 3000 },
      { ...at(40008), expect: '<script>alert\\(1\\)</script>[\\s\\S]*\\r', ms: 1500 },
      { ...at(40009), sendHex: hex('SSH-2.0-lab\r\n'), expect: '^SSH-2\\.0-[^\\r]*\\r\\n\\x7f\\xff\\xff\\xf0', ms: 1500 },
    ]);
    expect(heard.get('40001')).toMatchObject({ bytes: 0, closed: false }); // tarpit: silent, open
    expect(heard.get('40002')?.bytes).toBeGreaterThan(4 * 65536); // endless
    expect(heard.get('40003')).toMatchObject({ matched: true, bytes: 1, closed: false }); // drip: 1 byte/s
    expect(heard.get('40004')).toMatchObject({ bytes: 0, closed: true, error: 'ECONNRESET' });
    expect(heard.get('40005')).toMatchObject({ bytes: 0, closed: true, error: null });
    for (const port of ['40006', '40007', '40008', '40009']) expect(heard.get(port)?.matched, port).toBe(true);
    expect(lab.hostile.find((h) => h.port === 40005)?.service).toBe('tcpwrapped');
  });

  it('records every daemon by PID with its start time', () => {
    const names = lab.processes().map((p) => p.name);
    for (const d of DAEMON_NAMES) expect(names).toContain(`svc:${d}`);
    expect(names).toEqual(expect.arrayContaining(['hostile', 'watchdog']));
    expect(lab.processes().every((p) => p.start !== null)).toBe(true);
  });
});
