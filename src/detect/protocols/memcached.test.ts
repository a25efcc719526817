import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import type { ProbeContext, Session } from '../types.js';
import { classifyReply, detector, identifyVersion, parseStats, STATS_CMD, statsComplete, VERSION_CMD } from './memcached.js';

/** Captured from memcached 1.6.18 (Debian 12) started by hand on 127.0.0.1, trimmed to a few STAT lines. */
const VERSION_REPLY = Buffer.from('56455253494f4e20312e362e31380d0a', 'hex');
const STATS_REPLY = 'STAT pid 16015\r\nSTAT uptime 6\r\nSTAT time 1795243459\r\nSTAT version 1.6.18\r\nSTAT libevent 2.1.12-stable\r\nSTAT pointer_size 64\r\nSTAT rusage_user 0.003399\r\nSTAT max_connections 1024\r\nSTAT curr_connections 1\r\nEND\r\n';
/** Same build with `-Y authfile`: every command before authentication gets this. */
const UNAUTH = 'CLIENT_ERROR unauthenticated\r\n';

function ctx(session: Session): ProbeContext {
  return { session, timing: { replyMs: 1500, settleMs: 100 }, intensity: 7 };
}

function mc(version: string, stats: string = STATS_REPLY) {
  return new ScriptedSession({
    reply: (sent) => {
      const s = sent.toString('latin1');
      if (s === VERSION_CMD) return version;
      if (s === STATS_CMD) return stats;
      return 'ERROR\r\n';
    },
  });
}

describe('classifyReply', () => {
  it('knows version, auth-required and stats lines', () => {
    expect(classifyReply(VERSION_REPLY)).toEqual({ kind: 'version', version: '1.6.18' });
    expect(classifyReply(Buffer.from(UNAUTH))).toEqual({ kind: 'auth-required' });
    expect(classifyReply(Buffer.from(STATS_REPLY))).toEqual({ kind: 'stats' });
  });

  it('rejects other protocols and hostile input', () => {
    const hostile = [
      '',
      'VERSION 1.6.18', // unterminated
      'VERSION 2\r\n',
      'VERSION 1.6.18\x1b[31m\r\n',
      'ERROR\r\n',
      '+OK\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
      `VERSION 1.6.${'9'.repeat(1 << 20)}\r\n`,
      'x'.repeat(1 << 20),
    ];
    for (const h of hostile) {
      expect(classifyReply(Buffer.from(h, 'latin1'))).toBeUndefined();
      expect(detector.greeting!(Buffer.from(h, 'latin1'), { address: '127.0.0.1', port: 11211 })).toBeUndefined();
    }
    for (let i = 0; i < 100; i++) expect(classifyReply(Buffer.from(Array.from({ length: 64 }, (_v, j) => (i * 5 + j * 29) & 0xff)))).toBeUndefined();
  });
});

describe('parseStats / statsComplete', () => {
  it('reads a stats listing', () => {
    const stats = parseStats(Buffer.from(STATS_REPLY))!;
    expect(stats.get('version')).toBe('1.6.18');
    expect(stats.get('libevent')).toBe('2.1.12-stable');
    expect(statsComplete(Buffer.from(STATS_REPLY))).toBe(true);
  });

  it('rejects truncated, hostile and endless listings', () => {
    const hostile = [
      '',
      STATS_REPLY.slice(0, 60),
      STATS_REPLY.replace('END\r\n', ''),
      'STAT pid 1\r\nSTAT evil \x1b[2J\r\nEND\r\n',
      'STAT pid 1\r\nnot a stat line\r\nEND\r\n',
      `${'STAT a 1\r\n'.repeat(100_000)}END\r\n`,
      `STAT pid ${'1'.repeat(1 << 20)}\r\nEND\r\n`,
      'ERROR\r\n',
    ];
    for (const h of hostile) expect(parseStats(Buffer.from(h, 'latin1'))).toBeUndefined();
    expect(statsComplete(Buffer.from(STATS_REPLY.slice(0, 60)))).toBe(false);
    expect(statsComplete(Buffer.from('ERROR\r\n'))).toBe(true);
    expect(statsComplete(Buffer.from(UNAUTH))).toBe(true);
    expect(statsComplete(Buffer.alloc(1 << 20, 0x41))).toBe(true);
  });
});

describe('detector', () => {
  it('version, then stats without auth', async () => {
    const s = mc('VERSION 1.6.18\r\n');
    const first = (await detector.probe!(ctx(s)))!;
    expect(first).toMatchObject({ service: 'memcached', product: 'Memcached', version: '1.6.18', confidence: 10, cpe: ['cpe:2.3:a:memcached:memcached:1.6.18:*:*:*:*:*:*:*'] });
    const id = await detector.followUp!({ ...ctx(s), previous: first });
    expect(id.evidence).toEqual([{ id: 'memcached-no-auth', detail: 'Memcached answered stats without authentication' }]);
    expect(s.sent.toString()).toBe(VERSION_CMD + STATS_CMD);
  });

  it('authentication required: no stats asked, no evidence', async () => {
    const s = mc(UNAUTH, UNAUTH);
    const first = (await detector.probe!(ctx(s)))!;
    expect(first).toMatchObject({ service: 'memcached', product: 'Memcached', extrainfo: 'authentication required' });
    const id = await detector.followUp!({ ...ctx(s), previous: first });
    expect(id).toBe(first);
    expect(s.sent.toString()).toBe(VERSION_CMD);
  });

  it('a stats refusal or garbage adds nothing', async () => {
    for (const stats of ['ERROR\r\n', 'STAT pid 1\r\n', '\x00\x01\x02\r\n', 'x'.repeat(1 << 20)]) {
      const s = mc('VERSION 1.6.18\r\n', stats);
      const first = (await detector.probe!(ctx(s)))!;
      expect((await detector.followUp!({ ...ctx(s), previous: first })).evidence).toBeUndefined();
    }
  });

  it('a greeting-matched stats listing fills the version in followUp', async () => {
    const g = detector.greeting!(Buffer.from(STATS_REPLY), { address: '127.0.0.1', port: 11211 })!;
    expect(g.version).toBeUndefined();
    const id = await detector.followUp!({ ...ctx(mc('VERSION 1.6.18\r\n')), previous: g });
    expect(id).toMatchObject({ version: '1.6.18', confidence: 10 });
    expect(identifyVersion('1.4.25-ubuntu1')).toMatchObject({ version: '1.4.25' });
  });

  it('probe on something else is undefined', async () => {
    expect(await detector.probe!(ctx(new ScriptedSession({ reply: () => 'ERROR\r\n' })))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({})))).toBeUndefined();
  });
});

const MEMCACHED = '/usr/bin/memcached';

describe.skipIf(!existsSync(MEMCACHED))('against a memcached this test starts on 127.0.0.1', () => {
  let child: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '8'];
    if (process.getuid?.() === 0) args.push('-u', 'nobody');
    child = spawn(MEMCACHED, args, { stdio: 'ignore' });
    expect(await waitReachable(port, 5000)).toBe(true);
  });

  afterAll(async () => {
    // Only the process this test started, by its own handle; wait until it is gone.
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => c.kill('SIGKILL'), 2000);
      c.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      c.kill('SIGTERM');
    });
  });

  it('identifies the version and the no-auth fact', async () => {
    await withLive(port, async (s) => {
      const first = (await detector.probe!(ctx(s)))!;
      expect(first).toMatchObject({ service: 'memcached', product: 'Memcached', confidence: 10 });
      expect(first.version).toMatch(/^\d+\.\d+\.\d+$/);
      const id = await detector.followUp!({ ...ctx(s), previous: first });
      expect(id.evidence?.map((e) => e.id)).toEqual(['memcached-no-auth']);
    });
  });
});
