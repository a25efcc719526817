import { describe, expect, it } from 'vitest';
import { followScripted } from '../../../test/helpers/scripted-follow.js';
import type { Script } from '../scripted-session.js';
import type { Target } from '../types.js';
import { detector, escapeName, listComplete, parseModuleList, parseRsyncGreeting, versionReply } from './rsync.js';

const target: Target = { address: '127.0.0.1', port: 873 };
const timing = { replyMs: 1000, settleMs: 100 };

// Captured from rsync 3.5.0 (`rsync --daemon`, motd file set) on 127.0.0.1: greeting + MOTD
// (`@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\nWelcome to the test rsync server\n\n`), then
// the answer to `@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n#list\n`.
const GREETING = Buffer.from('405253594e43443a2033322e3020736861353132207368613235362073686131206d6435206d64340a57656c636f6d6520746f207468652074657374207273796e63207365727665720a0a', 'hex');
const LISTING = Buffer.from(
  '6461746120202020202020202020200950726f6a65637420646174610a707562202020202020202020202020095075626c6963206d6972726f720a405253594e43443a20455849540a',
  'hex',
);

const follow = (script: Script) => followScripted(detector, script, target, { timing });

describe('rsync greeting', () => {
  it('reads protocol version and digests', () => {
    expect(parseRsyncGreeting(GREETING)).toEqual({ major: 32, minor: 0, digests: ['sha512', 'sha256', 'sha1', 'md5', 'md4'] });
    const id = detector.greeting!(Buffer.from('@RSYNCD: 31.0\n'), target)!;
    expect(id).toEqual({ service: 'rsync', extrainfo: 'protocol version 31', confidence: 8, fields: { 'rsync.protocol': '31.0' } });
    expect(detector.greeting!(Buffer.from('@RSYNCD: 29\n'), target)).toMatchObject({ extrainfo: 'protocol version 29' });
    expect(detector.greeting!(GREETING, target)!.fields!['rsync.digests']).toBe('sha512 sha256 sha1 md5 md4');
  });

  it('rejects other banners and hostile input', () => {
    for (const s of ['', '@RSYNCD: 31.0', '@RSYNCD: x\n', '@RSYNCD: 1234567.0\n', 'RSYNCD: 31.0\n', '@ERROR: max connections (5) reached -- try again later\n', 'SSH-2.0-x\r\n', `@RSYNCD: 31.0 ${'a'.repeat(40)}\n`]) {
      expect(detector.greeting!(Buffer.from(s), target)).toBeUndefined();
    }
    expect(detector.greeting!(Buffer.alloc(1 << 20, 0x40), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.concat([Buffer.from('@RSYNCD: 31.0 '), Buffer.alloc(1 << 20, 0x61), Buffer.from('\n')]), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from('@RSYNCD: 31.0 md5\x1b[2J\n'), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 11) & 0xff)), target)).toBeUndefined();
  });

  it('answers with the server version and its digest list', () => {
    expect(versionReply({ major: 32, minor: 0, digests: ['sha512', 'md5'] })).toBe('@RSYNCD: 32.0 sha512 md5\n');
    expect(versionReply({ major: 31, minor: 0, digests: [] })).toBe('@RSYNCD: 31.0\n');
    expect(versionReply({ major: 29, digests: [] })).toBe('@RSYNCD: 29\n');
  });
});

describe('rsync module list', () => {
  it('parses modules, skipping MOTD lines', () => {
    expect(parseModuleList(LISTING)).toEqual({ modules: ['data', 'pub'], total: 2 });
    expect(parseModuleList(Buffer.from('Welcome!\n\nbackup\tnightly\r\n@RSYNCD: EXIT\r\n'))).toEqual({ modules: ['backup'], total: 1 });
    expect(parseModuleList(Buffer.from('@ERROR: access denied to data from localhost (127.0.0.1)\n'))).toEqual({
      modules: [],
      total: 0,
      error: 'access denied to data from localhost (127.0.0.1)',
    });
  });

  it('escapes and caps hostile names', () => {
    const evil = parseModuleList(Buffer.from('\x1b[31mred\x07\tx\nback\\slash\tx\n@RSYNCD: EXIT\n'));
    expect(evil.modules).toEqual(['\\x1b[31mred\\x07', 'back\\x5cslash']);
    const many = parseModuleList(Buffer.from(Array.from({ length: 1000 }, (_, i) => `m${i}\tc\n`).join('')));
    expect(many.modules.length).toBe(32);
    expect(many.total).toBe(1000);
    expect(escapeName('x'.repeat(1000)).length).toBe(64);
    expect(parseModuleList(Buffer.alloc(1 << 20, 0x09)).total).toBe(0);
    expect(parseModuleList(Buffer.alloc(0))).toEqual({ modules: [], total: 0 });
  });

  it('knows when the listing is done', () => {
    expect(listComplete(LISTING)).toBe(true);
    expect(listComplete(LISTING.subarray(0, 20))).toBe(false);
    expect(listComplete(Buffer.from('@ERROR: no\n'))).toBe(true);
    expect(listComplete(Buffer.from('@ERROR: no'))).toBe(false);
  });
});

describe('rsync follow-up', () => {
  it('lists modules and reports them as evidence', async () => {
    const { id, sent } = await follow({ greeting: GREETING, reply: (s) => (s.toString().includes('#list') ? LISTING : undefined) });
    expect(sent).toBe('@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4\n#list\n');
    expect(id.evidence).toEqual([{ id: 'rsync-module-list', detail: 'rsync daemon lists 2 module(s) to anyone: data, pub' }]);
    expect(id.fields!['rsync.modules']).toBe('data pub');
    expect(id.extrainfo).toBe('protocol version 32');
  });

  it('says how many more when the list is capped', async () => {
    const big = Array.from({ length: 40 }, (_, i) => `mod${i}\tc\n`).join('') + '@RSYNCD: EXIT\n';
    const { id } = await follow({ greeting: '@RSYNCD: 31.0\n', reply: () => big });
    expect(id.evidence![0]!.detail).toMatch(/lists 40 module\(s\) .*mod31 \(\+8 more\)$/);
  });

  it('reports nothing for an empty listing or an error, and survives garbage', async () => {
    expect((await follow({ greeting: '@RSYNCD: 31.0\n', reply: () => '@RSYNCD: EXIT\n' })).id.evidence).toBeUndefined();
    const denied = await follow({ greeting: '@RSYNCD: 31.0\n', reply: () => '@ERROR: access denied\n' });
    expect(denied.id.evidence).toBeUndefined();
    expect(denied.id.fields!['rsync.error']).toBe('access denied');
    for (const reply of [() => 'close' as const, () => 'reset' as const, () => undefined, () => Buffer.alloc(70000, 0x09)]) {
      const { id } = await follow({ greeting: '@RSYNCD: 31.0\n', reply });
      expect(id.service).toBe('rsync');
      expect(id.evidence).toBeUndefined();
    }
  });
});
