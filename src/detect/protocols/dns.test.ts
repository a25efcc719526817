import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import { buildVersionQuery, detector, identifyReply, identifyVersion, parseDnsMessage, parseVersionReply, readName, replyComplete, splitBindVersion, tcpMessageComplete, txtStrings } from './dns.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 2000, settleMs: 300 };
const MIB = Buffer.alloc(1024 * 1024, 0x41);

/** BIND 9.18.49-1~deb12u3-Debian answering version.bind CH TXT over TCP (id 0x1234), captured. */
const BIND_REPLY = hex(
  '0051 1234 8400 0001 0001 0001 0000 0776657273696f6e0462696e6400 0010 0003' +
    'c00c 0010 0003 00000000 0019 18 392e31382e34392d317e646562313275332d44656269616e' +
    'c00c 0002 0003 00000000 0002 c00c',
);

/** A TCP-framed reply: header fields, the version.bind question, then raw answer bytes. */
function reply(id: number, flags: number, answers: Buffer[], qd = 1): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(qd, 4);
  header.writeUInt16BE(answers.length, 6);
  const q = hex('0776657273696f6e0462696e6400 0010 0003');
  const msg = Buffer.concat([header, qd > 0 ? q : Buffer.alloc(0), ...answers]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** A TXT answer named by a pointer to the question (offset 12). */
function txt(...strings: string[]): Buffer {
  const rdata = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([Buffer.byteLength(s, 'latin1')]), Buffer.from(s, 'latin1')])));
  const head = hex('c00c 0010 0003 00000000');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(rdata.length);
  return Buffer.concat([head, len, rdata]);
}

describe('query', () => {
  it('builds version.bind CH TXT over TCP without recursion desired', () => {
    expect(buildVersionQuery(0x1234).toString('hex')).toBe('001e' + '123400000001000000000000' + '0776657273696f6e0462696e6400' + '00100003');
  });

  it('stops waiting as soon as a reply cannot be ours', () => {
    const done = replyComplete(0x1234);
    expect(done(BIND_REPLY.subarray(0, 4))).toBe(false);
    expect(done(BIND_REPLY.subarray(0, 30))).toBe(false);
    expect(done(BIND_REPLY)).toBe(true);
    expect(done(Buffer.from('HTTP'))).toBe(true);
    expect(done(hex('0051123404'))).toBe(true); // QR clear: a query, not a reply
    expect(done(hex('00'))).toBe(false);
  });

  it('knows when a TCP message is whole', () => {
    expect(tcpMessageComplete(Buffer.alloc(0))).toBe(false);
    expect(tcpMessageComplete(hex('00'))).toBe(false);
    expect(tcpMessageComplete(BIND_REPLY.subarray(0, 40))).toBe(false);
    expect(tcpMessageComplete(BIND_REPLY)).toBe(true);
    expect(tcpMessageComplete(hex('ffff'), 4096)).toBe(true);
  });
});

describe('reply parsing', () => {
  it('reads the captured BIND reply', () => {
    const r = parseVersionReply(BIND_REPLY, 0x1234)!;
    expect(r.version).toBe('9.18.49-1~deb12u3-Debian');
    expect(r.reply).toMatchObject({ rcode: 0, aa: true });
    expect(r.reply.answers.map((a) => a.name)).toEqual(['version.bind']);
  });

  it('identifies ISC BIND with distro and package revision', () => {
    const id = identifyVersion('9.18.49-1~deb12u3-Debian');
    expect(id).toMatchObject({
      service: 'domain',
      product: 'ISC BIND',
      version: '9.18.49',
      distro: 'Debian',
      packageRevision: '1~deb12u3',
      ostype: 'Linux',
      confidence: 10,
      cpe: ['cpe:2.3:a:isc:bind:9.18.49:*:*:*:*:*:*:*'],
      fields: { 'dns.version_bind': '9.18.49-1~deb12u3-Debian' },
    });
  });

  it('splits BIND version strings of several distributions', () => {
    expect(splitBindVersion('9.11.5-P4-5.1+deb10u11-Debian')).toEqual({ version: '9.11.5', patch: 'P4', distro: 'Debian', revision: '5.1+deb10u11' });
    expect(splitBindVersion('9.18.28-0ubuntu0.22.04.1-Ubuntu')).toEqual({ version: '9.18.28', distro: 'Ubuntu', revision: '0ubuntu0.22.04.1' });
    expect(splitBindVersion('9.16.1-Ubuntu')).toEqual({ version: '9.16.1', distro: 'Ubuntu' });
    expect(splitBindVersion('9.16.23-RH')).toEqual({ version: '9.16.23', distro: 'Red Hat' });
    expect(splitBindVersion('9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16')).toEqual({ version: '9.11.4', patch: 'P2', distro: 'Red Hat', revision: '9.11.4-26.P2.el7_9.16' });
    expect(splitBindVersion('9.20.3')).toEqual({ version: '9.20.3' });
    expect(splitBindVersion('9.19.21-S1')).toEqual({ version: '9.19.21', patch: 'S1' });
    expect(identifyVersion('9.11.5-P4-5.1+deb10u11-Debian')).toMatchObject({ version: '9.11.5-P4', cpe: ['cpe:2.3:a:isc:bind:9.11.5:p4:*:*:*:*:*:*'] });
  });

  it('identifies other servers by their version text', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['dnsmasq-2.89', { product: 'dnsmasq', version: '2.89', cpe: ['cpe:2.3:a:thekelleys:dnsmasq:2.89:*:*:*:*:*:*:*'] }],
      ['unbound 1.17.1', { product: 'Unbound', version: '1.17.1', cpe: ['cpe:2.3:a:nlnetlabs:unbound:1.17.1:*:*:*:*:*:*:*'] }],
      ['NSD 4.6.1', { product: 'NLnet Labs NSD', version: '4.6.1' }],
      ['Knot DNS 3.2.6', { product: 'Knot DNS', version: '3.2.6' }],
      ['Knot Resolver 5.6.0', { product: 'Knot Resolver', version: '5.6.0' }],
      ['PowerDNS Authoritative Server 4.7.3 (built Jan  1 2023 00:00:00 by root@localhost)', { product: 'PowerDNS Authoritative Server', version: '4.7.3' }],
      ['PowerDNS Recursor 4.8.2 (built May 2 2023)', { product: 'PowerDNS Recursor', version: '4.8.2' }],
      ['Microsoft DNS 6.1.7601 (1DB15CD4)', { product: 'Microsoft DNS', version: '6.1.7601', ostype: 'Windows', extrainfo: 'Windows Server 2008 R2 SP1' }],
      ['Microsoft DNS 10.0.17763 (4563007D)', { product: 'Microsoft DNS', extrainfo: 'Windows Server 2019' }],
    ];
    for (const [text, want] of cases) expect(identifyVersion(text), text).toMatchObject({ service: 'domain', ...want });
  });

  it('keeps unknown or hidden versions as a field only', () => {
    for (const text of ['none', 'go away', 'unknown', '1.2.3']) {
      const id = identifyVersion(text);
      expect(id).toEqual({ service: 'domain', confidence: 8, fields: { 'dns.version_bind': text } });
    }
  });

  it('reports REFUSED, NOTIMP and empty answers as DNS without a product', () => {
    for (const [rcode, name] of [[5, 'REFUSED'], [4, 'NOTIMP'], [0, 'NOERROR'], [2, 'SERVFAIL']] as const) {
      const r = parseVersionReply(reply(0x4242, 0x8000 | rcode, []), 0x4242)!;
      expect(r.version).toBeUndefined();
      expect(identifyReply(r)).toEqual({ service: 'domain', confidence: 8, fields: { 'dns.rcode': name } });
    }
    expect(identifyReply({ reply: { id: 1, rcode: 15, aa: false, answers: [] } }).fields).toEqual({ 'dns.rcode': 'RCODE 15' });
    const refused = reply(7, 0x8005, [], 0);
    expect(parseVersionReply(refused, 7)?.reply.rcode).toBe(5);
  });

  it('joins multi-string TXT records and cleans control characters', () => {
    expect(parseVersionReply(reply(1, 0x8400, [txt('dnsmasq-', '2.90')]), 1)?.version).toBe('dnsmasq-2.90');
    expect(parseVersionReply(reply(1, 0x8400, [txt('\x1b[31munbound 1.19.0\x00\r\n')]), 1)?.version).toBe('[31munbound 1.19.0');
    expect(txtStrings(hex('05616263'))).toBe('');
    expect(txtStrings(Buffer.alloc(0))).toBe('');
  });

  it('rejects wrong ids, queries, other opcodes and foreign bytes', () => {
    expect(parseVersionReply(BIND_REPLY, 0x1235)).toBeUndefined();
    const query = buildVersionQuery(0x1234);
    expect(parseVersionReply(query, 0x1234)).toBeUndefined();
    expect(parseVersionReply(reply(9, 0x8000 | (2 << 11), []), 9)).toBeUndefined(); // STATUS opcode
    for (const bad of [Buffer.alloc(0), hex('00'), hex('0000'), Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), MIB, Buffer.from('\x1b[2J\x00\x01\x02')]) {
      expect(parseVersionReply(bad, 0x4854)).toBeUndefined();
      expect(parseVersionReply(bad, 0)).toBeUndefined();
    }
  });
});

describe('names and hostile messages', () => {
  it('follows backward pointers', () => {
    const msg = Buffer.concat([Buffer.alloc(12), hex('0776657273696f6e0462696e6400'), hex('03777777c00c')]);
    expect(readName(msg, 12)).toEqual({ name: 'version.bind', next: 26 });
    expect(readName(msg, 26)).toEqual({ name: 'www.version.bind', next: 32 });
  });

  it('refuses pointer loops, forward and out-of-range pointers', () => {
    const self = Buffer.concat([Buffer.alloc(12), hex('c00c')]);
    expect(readName(self, 12)).toBeUndefined();
    // 12: "a" then pointer to 16; 16: "b" then pointer back to 12 — a two-step loop.
    const loop = Buffer.concat([Buffer.alloc(12), hex('0161c010'), hex('0162c00c')]);
    expect(readName(loop, 12)).toBeUndefined();
    expect(readName(loop, 16)).toBeUndefined();
    const forward = Buffer.concat([Buffer.alloc(12), hex('c020'), Buffer.alloc(40)]);
    expect(readName(forward, 12)).toBeUndefined();
    expect(readName(Buffer.concat([Buffer.alloc(12), hex('ffff')]), 12)).toBeUndefined();
    expect(readName(Buffer.concat([Buffer.alloc(12), hex('c0')]), 12)).toBeUndefined();
    expect(readName(Buffer.concat([Buffer.alloc(12), hex('4001')]), 12)).toBeUndefined(); // extended label type
  });

  it('caps name length and pointer chains', () => {
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    expect(readName(Buffer.concat([label, label, label, label, hex('00')]), 0)).toBeUndefined();
    // A chain of 40 pointers, each to the one before: legal direction, too many jumps.
    const chain = [hex('00')];
    for (let i = 0; i < 40; i++) chain.push(Buffer.from([0xc0, (i * 2 === 0 ? 0 : i * 2 - 1) & 0xff]));
    const chained = Buffer.concat(chain);
    expect(readName(chained, chained.length - 2)).toBeUndefined();
    expect(readName(hex('0561'), 0)).toBeUndefined(); // label runs past the end
  });

  it('stays bounded on lying counts, lengths and 1 MiB inputs', () => {
    const lyingCounts = Buffer.concat([hex('1234 8400 ffff ffff 0000 0000'), MIB]);
    expect(parseDnsMessage(lyingCounts)?.answers).toEqual([]);
    const many = Buffer.concat([hex('1234 8400 0000 ffff 0000 0000'), ...Array.from({ length: 5000 }, () => hex('00 0010 0003 00000000 0001 00'))]);
    expect(parseDnsMessage(many)?.answers.length).toBe(16);
    const lyingRdlen = Buffer.concat([hex('1234 8400 0000 0001 0000 0000'), hex('00 0010 0003 00000000 ffff 03616263')]);
    expect(parseDnsMessage(lyingRdlen)?.answers).toEqual([]);
    const lyingTcp = Buffer.concat([hex('ffff'), BIND_REPLY.subarray(2)]);
    expect(parseVersionReply(lyingTcp, 0x1234)?.version).toBe('9.18.49-1~deb12u3-Debian');
    const truncated = BIND_REPLY.subarray(0, 50);
    expect(parseVersionReply(truncated, 0x1234)).toMatchObject({ reply: { answers: [] } });
    for (let n = 0; n <= BIND_REPLY.length; n++) expect(() => parseVersionReply(BIND_REPLY.subarray(0, n), 0x1234)).not.toThrow();
    const noise = Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7919 + 13) & 0xff));
    expect(() => parseDnsMessage(noise)).not.toThrow();
  });
});

describe('probe (scripted)', () => {
  /** A server that answers the query it was sent with `answers`, echoing the id. */
  const server = (flags: number, ...answers: Buffer[]) => (sent: Buffer) => reply(sent.readUInt16BE(2), flags, answers);

  it('sends a random id and identifies the answer', async () => {
    const s = new ScriptedSession({ reply: server(0x8400, txt('9.18.49-1~deb12u3-Debian')) });
    expect(await detector.probe!({ session: s, timing, intensity: 7 })).toMatchObject({ product: 'ISC BIND', version: '9.18.49', distro: 'Debian' });
    const ids = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const t = new ScriptedSession({ reply: server(0x8005) });
      await detector.probe!({ session: t, timing, intensity: 7 });
      ids.add(t.sent.readUInt16BE(2));
      expect(t.sent.subarray(4)).toEqual(buildVersionQuery(0).subarray(4));
    }
    expect(ids.size).toBeGreaterThan(1);
  });

  it('reports a server that refuses as domain without product', async () => {
    const s = new ScriptedSession({ reply: server(0x8005) });
    expect(await detector.probe!({ session: s, timing, intensity: 7 })).toEqual({ service: 'domain', confidence: 8, fields: { 'dns.rcode': 'REFUSED' } });
  });

  it('returns undefined on silence, close, a wrong id and foreign replies', async () => {
    const wrongId = (sent: Buffer): Buffer => reply(sent.readUInt16BE(2) ^ 1, 0x8400, [txt('9.18.1')]);
    for (const r of [() => undefined, () => 'close' as const, () => 'reset' as const, wrongId, () => 'HTTP/1.1 400 Bad Request\r\n\r\n', () => MIB]) {
      const s = new ScriptedSession({ reply: r });
      expect(await detector.probe!({ session: s, timing, intensity: 7 })).toBeUndefined();
    }
  });
});

const NAMED = '/usr/sbin/named';

describe.skipIf(!existsSync(NAMED) || process.getuid?.() !== 0)('against a real BIND started on 127.0.0.1', () => {
  let dir = '';
  let port = 0;
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portolan-named-'));
    port = await freePort();
    // Authoritative-only and cut off from the world, in independent layers: no recursion (for
    // anyone), no validation (so no trust-anchor refresh or telemetry), an empty root hint zone
    // instead of the built-in root servers, every server bogus, no zones to notify or transfer,
    // any outgoing query, notify or transfer sourced from 127.0.0.1 (Linux will not route that off
    // the loopback interface), no control channel, IPv4 loopback only (`-4`).
    writeFileSync(join(dir, 'root.hint'), '');
    writeFileSync(
      join(dir, 'named.conf'),
      [
        'options {',
        `  directory "${dir}";`,
        `  listen-on port ${port} { 127.0.0.1; };`,
        '  listen-on-v6 { none; };',
        '  recursion no;',
        '  allow-recursion { none; };',
        '  allow-query-cache { none; };',
        '  allow-transfer { none; };',
        '  dnssec-validation no;',
        '  trust-anchor-telemetry no;',
        '  notify no;',
        '  also-notify { };',
        '  query-source address 127.0.0.1;',
        '  notify-source 127.0.0.1;',
        '  transfer-source 127.0.0.1;',
        '  pid-file none;',
        '};',
        'controls { };',
        'server 0.0.0.0/0 { bogus yes; };',
        'server ::/0 { bogus yes; };',
        'zone "." { type hint; file "root.hint"; };',
        '',
      ].join('\n'),
    );
    proc = spawn(NAMED, ['-g', '-4', '-n', '1', '-c', join(dir, 'named.conf')], { stdio: 'ignore' });
  });

  afterAll(async () => {
    const p = proc;
    if (p?.pid !== undefined && p.exitCode === null) {
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      process.kill(p.pid, 'SIGTERM');
      const timer = setTimeout(() => p.pid !== undefined && p.exitCode === null && process.kill(p.pid, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the BIND version through the probe', async (ctx) => {
    let id;
    for (const until = Date.now() + 8000; Date.now() < until && proc?.exitCode === null; ) {
      // Refused while named is still starting: try again until it listens.
      id = await withLive(port, (session) => detector.probe!({ session, timing, intensity: 7 }), { budgetMs: 5000, connectMs: 1000 }).catch(() => undefined);
      if (id) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!id) ctx.skip(); // named did not come up quickly here; the scripted tests cover the parser
    expect(id).toMatchObject({ service: 'domain', product: 'ISC BIND', cpe: [expect.stringMatching(/^cpe:2\.3:a:isc:bind:9\./)] });
    expect(id?.version).toMatch(/^9\.\d+\.\d+/);
  });
});
