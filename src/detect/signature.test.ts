import { describe, expect, it } from 'vitest';
import { applySignature, expandTemplate, matchSignatures, type Signature } from './signature.js';

const sig = (over: Partial<Signature>): Signature => ({ service: 'x', pattern: /^X ([\d.]+)(?: \((\w+)\))?/, ...over });

describe('signature matcher', () => {
  it('fills templates from groups and named groups', () => {
    const m = /^(?<p>\w+) ([\d.]+)/.exec('Acme 1.2')!;
    expect(expandTemplate('$1 v$2', m)).toBe('Acme v1.2');
    expect(expandTemplate('${p}', m)).toBe('Acme');
  });

  it('leaves a field out when its group did not participate', () => {
    const id = applySignature(sig({ product: 'X', version: '$1', extrainfo: 'os $2' }), Buffer.from('X 1.0'));
    expect(id).toEqual({ service: 'x', product: 'X', version: '1.0', confidence: 9 });
  });

  it('strips control characters that a capture drags in', () => {
    const id = applySignature(sig({ pattern: /^V (.*)$/s, version: '$1' }), Buffer.from('V 1\x1b[31m.0\r\n'));
    expect(id?.version).toBe('1[31m.0');
  });

  it('matches fields, not raw bytes, when the signature names one', () => {
    const s = sig({ field: 'http_header.server', pattern: /^nginx\/([\d.]+)/, product: 'nginx', version: '$1' });
    expect(applySignature(s, Buffer.from('nginx/1.0'))).toBeUndefined();
    expect(applySignature(s, undefined, { 'http_header.server': 'nginx/1.22.1' })?.version).toBe('1.22.1');
  });

  it('takes the first match in order and bounds what the regex sees', () => {
    const list = [sig({ pattern: /never/ }), sig({ service: 'second', pattern: /A+$/ })];
    expect(matchSignatures(list, Buffer.from('A'.repeat(1 << 20)))?.service).toBe('second');
    expect(matchSignatures(list, Buffer.alloc(0))).toBeUndefined();
  });

  it('quotes captured values inside CPE templates', () => {
    const id = applySignature(sig({ pattern: /^X (\S+)/, cpe: ['cpe:2.3:a:acme:x:$1:*:*:*:*:*:*:*'] }), Buffer.from('X 1:*:evil'));
    expect(id?.cpe).toEqual(['cpe:2.3:a:acme:x:1\\:\\*\\:evil:*:*:*:*:*:*:*']);
  });

  it('lower-cases CPEs and respects an explicit confidence', () => {
    const id = applySignature(sig({ cpe: ['cpe:2.3:a:Acme:X:$1:*:*:*:*:*:*:*'], confidence: 6 }), Buffer.from('X 2'));
    expect(id?.cpe).toEqual(['cpe:2.3:a:acme:x:2:*:*:*:*:*:*:*']);
    expect(id?.confidence).toBe(6);
  });
});
