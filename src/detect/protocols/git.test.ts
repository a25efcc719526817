import { describe, expect, it } from 'vitest';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, Target } from '../types.js';
import { detector, gitReplyComplete, hostParam, identifyGit, parseGitReply, uploadPackRequest } from './git.js';

const target: Target = { address: '127.0.0.1', port: 9418 };
const timing = { replyMs: 1000, settleMs: 100 };

// Captured from `git daemon` 2.39.5 on 127.0.0.1: the answer for `/`, and the advertisement of an
// exported one-commit repository.
const ERR = Buffer.from('30303333455252206163636573732064656e696564206f72207265706f7369746f7279206e6f74206578706f727465643a202f', 'hex');
const REFS = Buffer.from(
  '30313033383733323861353431633063366234613136313736656332323363373465623964376435346233302048454144006d756c74695f61636b207468696e2d7061636b20736964652d62616e6420736964652d62616e642d36346b206f66732d64656c7461207368616c6c6f772064656570656e2d73696e63652064656570656e2d6e6f742064656570656e2d72656c6174697665206e6f2d70726f677265737320696e636c7564652d746167206d756c74695f61636b5f64657461696c65642073796d7265663d484541443a726566732f68656164732f6d61696e206f626a6563742d666f726d61743d73686131206167656e743d6769742f322e33392e350a303033643837333238613534316330633662346131363137366563323233633734656239643764353462333020726566732f68656164732f6d61696e0a30303030',
  'hex',
);

async function probe(script: Script, t: Target = target): Promise<{ id: Identification | undefined; sent: Buffer }> {
  const session = new ScriptedSession(script, t);
  const id = await detector.probe!({ session, timing, intensity: 7 });
  return { id, sent: session.sent };
}

describe('git request', () => {
  it('builds a valid pkt-line for /', () => {
    expect(uploadPackRequest(target).toString('latin1')).toBe('0025git-upload-pack /\0host=127.0.0.1\0');
    expect(uploadPackRequest({ address: '::1', port: 9418 }).toString('latin1')).toBe('0021git-upload-pack /\0host=[::1]\0');
    expect(hostParam({ address: '127.0.0.1', port: 9418, hostname: 'git.example.org' })).toBe('git.example.org');
    expect(hostParam({ address: '127.0.0.1', port: 9418, hostname: 'bad\0host' })).toBe('127.0.0.1');
    const req = uploadPackRequest(target);
    expect(parseInt(req.subarray(0, 4).toString(), 16)).toBe(req.length);
  });
});

describe('git reply parsing', () => {
  it('recognises the ERR line', () => {
    expect(parseGitReply(ERR)).toEqual({ kind: 'error', message: 'access denied or repository not exported: /' });
    expect(identifyGit(parseGitReply(ERR)!)).toEqual({ service: 'git', confidence: 8, fields: { 'git.error': 'access denied or repository not exported: /' } });
  });

  it('reads the agent version from a ref advertisement', () => {
    const r = parseGitReply(REFS)!;
    expect(r).toMatchObject({ kind: 'refs', refs: 2, agent: 'git/2.39.5' });
    expect(identifyGit(r)).toMatchObject({ service: 'git', product: 'Git', version: '2.39.5', confidence: 10, cpe: ['cpe:2.3:a:git-scm:git:2.39.5:*:*:*:*:*:*:*'] });
    const v1 = Buffer.concat([Buffer.from('000eversion 1\n'), REFS]);
    expect(parseGitReply(v1)).toMatchObject({ kind: 'refs', refs: 2 });
  });

  it('rejects other protocols and hostile input', () => {
    for (const s of ['', '0000', '003', 'zzzzERR x', 'HTTP/1.1 400 Bad Request\r\n', 'SSH-2.0-x\r\n', '0008abcd', '0004', '0001ERR x', 'ffffnot a ref line']) {
      expect(parseGitReply(Buffer.from(s))).toBeUndefined();
      expect(detector.greeting!(Buffer.from(s), target)).toBeUndefined();
    }
    expect(parseGitReply(Buffer.alloc(1 << 20, 0x30))).toBeUndefined();
    expect(parseGitReply(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 5) & 0xff)))).toBeUndefined();
  });

  it('bounds lying length fields', () => {
    // Claims 64 KiB, sends a few bytes, or a megabyte: the message is capped.
    expect(parseGitReply(Buffer.from('fff0ERR short'))).toEqual({ kind: 'error', message: 'short' });
    const huge = Buffer.concat([Buffer.from('fff0ERR '), Buffer.alloc(1 << 20, 0x41)]);
    expect((parseGitReply(huge) as { message: string }).message.length).toBeLessThanOrEqual(200);
    expect(parseGitReply(Buffer.from('ffffERR over the maximum'))).toBeUndefined();
    // A truncated first ref line is not enough.
    expect(parseGitReply(REFS.subarray(0, 100))).toBeUndefined();
    // Control characters and ANSI escapes are stripped from the message.
    expect(parseGitReply(Buffer.from('0018ERR \x1b[31mred\x1b[0m\x07'))).toEqual({ kind: 'error', message: '[31mred[0m' });
  });

  it('knows when a reply is whole', () => {
    expect(gitReplyComplete(ERR)).toBe(true);
    expect(gitReplyComplete(ERR.subarray(0, 20))).toBe(false);
    expect(gitReplyComplete(REFS)).toBe(true);
    expect(gitReplyComplete(REFS.subarray(0, REFS.length - 4))).toBe(false);
    expect(gitReplyComplete(Buffer.from('HTTP/1.1 400'))).toBe(true);
    expect(gitReplyComplete(Buffer.from('00'))).toBe(false);
    expect(gitReplyComplete(Buffer.from('0003'))).toBe(true);
    const many = Buffer.from('0005x'.repeat(5000));
    expect(gitReplyComplete(many)).toBe(true);
  });
});

describe('git probe', () => {
  it('sends the request and recognises ERR', async () => {
    const { id, sent } = await probe({ reply: () => ERR });
    expect(sent.toString('latin1')).toBe('0025git-upload-pack /\0host=127.0.0.1\0');
    expect(id).toMatchObject({ service: 'git' });
  });

  it('ends a ref advertisement with a flush, fetching nothing', async () => {
    const { id, sent } = await probe({ reply: (s) => (s.toString().startsWith('0025') ? REFS : undefined) });
    expect(id).toMatchObject({ product: 'Git', version: '2.39.5' });
    expect(sent.toString('latin1').endsWith('0000')).toBe(true);
  });

  it('returns undefined for silence, closes and garbage', async () => {
    expect((await probe({ reply: () => undefined })).id).toBeUndefined();
    expect((await probe({ reply: () => 'close' })).id).toBeUndefined();
    expect((await probe({ reply: () => 'HTTP/1.0 400 Bad Request\r\n\r\n' })).id).toBeUndefined();
    expect((await probe({ reply: () => Buffer.alloc(70000, 0x66) })).id).toBeUndefined();
  });
});
