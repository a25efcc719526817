import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { HOSTILE } from '../../test/helpers/hostile-strings.js';
import { shQuote } from './shell.js';
import type { FirewallRuleSpec } from './types.js';
import {
  sanitizeCommentKey,
  validateCidr,
  validateFindingKey,
  validateIface,
  validatePort,
  validateProtocol,
  validateSpec,
} from './validate.js';


const base: FirewallRuleSpec = { mode: 'block', protocol: 'tcp', port: 22, family: 'both', findingKey: '10.0.0.5/tcp/22/exposed' };

describe('validate', () => {
  it('accepts ports 1-65535 and nothing else', () => {
    expect(validatePort(1)).toBe(1);
    expect(validatePort(65535)).toBe(65535);
    for (const bad of [0, 65536, -1, 1.5, Number.NaN, Infinity, '22', null, undefined, 22n]) {
      expect(() => validatePort(bad)).toThrow(UsageError);
    }
  });

  it('accepts tcp and udp only', () => {
    expect(validateProtocol('udp')).toBe('udp');
    for (const bad of ['TCP', 'sctp', 'tcp ', ...HOSTILE]) expect(() => validateProtocol(bad)).toThrow(UsageError);
  });

  it('accepts Linux interface names only', () => {
    for (const ok of ['eth0', 'enp3s0f1', 'br-lan', 'wg_0', 'vlan.10', 'a', 'abcdefghijklmno']) expect(validateIface(ok)).toBe(ok);
    for (const bad of ['.', '..', 'abcdefghijklmnop', 'eth+', 'eth0:1', 'a/b', ...HOSTILE]) {
      expect(() => validateIface(bad)).toThrow(UsageError);
    }
  });

  it('canonicalises CIDRs and refuses host bits, bad prefixes and non-literals', () => {
    expect(validateCidr('192.0.2.7')).toEqual({ family: 4, text: '192.0.2.7/32' });
    expect(validateCidr('10.0.0.0/8')).toEqual({ family: 4, text: '10.0.0.0/8' });
    expect(validateCidr('0.0.0.0/0')).toEqual({ family: 4, text: '0.0.0.0/0' });
    expect(validateCidr('2001:DB8:0:0::/32')).toEqual({ family: 6, text: '2001:db8::/32' });
    expect(validateCidr('::1')).toEqual({ family: 6, text: '::1/128' });
    for (const bad of ['10.0.0.1/8', '10.0.0.0/33', '10.0.0.0/08', '10.0.0.0/', '010.0.0.0/8', '10.0.0/8', '2001:db8::1/32',
      '::/129', 'fe80::1%eth0', 'example.com', '10.0.0.0/8/8', ...HOSTILE]) {
      expect(() => validateCidr(bad), bad.slice(0, 30)).toThrow(UsageError);
    }
    expect(() => validateCidr('10.0.0.1/8')).toThrow(/did you mean 10\.0\.0\.0\/8/);
  });

  it('refuses finding keys outside the comment alphabet, and sanitizes free text into it', () => {
    expect(validateFindingKey('2001:db8::1/tcp/22/cve/CVE-2024-6387')).toBe('2001:db8::1/tcp/22/cve/CVE-2024-6387');
    for (const bad of ['x'.repeat(101), ...HOSTILE]) expect(() => validateFindingKey(bad)).toThrow(UsageError);
    for (const bad of HOSTILE) expect(() => validateFindingKey(sanitizeCommentKey(bad))).not.toThrow();
    expect(sanitizeCommentKey('a;b $(c)')).toBe('a_b___c_');
    expect(sanitizeCommentKey('x'.repeat(100_000))).toHaveLength(100);
  });

  it('checks the combination of mode, family and sources', () => {
    expect(() => validateSpec({ ...base, allowFrom: ['10.0.0.0/8'] })).toThrow(/block mode takes no allowed sources/);
    expect(() => validateSpec({ ...base, mode: 'allowlist' })).toThrow(/needs at least one/);
    expect(() => validateSpec({ ...base, mode: 'allowlist', family: 4, allowFrom: ['::1'] })).toThrow(/IPv6 but the rule covers IPv4/);
    expect(() => validateSpec({ ...base, mode: 'allowlist', allowFrom: Array.from({ length: 257 }, () => '10.0.0.0/8') })).toThrow(/at most 256/);
    const ok = validateSpec({ ...base, mode: 'allowlist', allowFrom: ['10.0.0.0/8', '10.0.0.0/8', '2001:db8::/32'] });
    expect(ok.allowFrom.map((c) => c.text)).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(() => validateSpec({ ...base, family: 5 as never })).toThrow(UsageError);
    expect(() => validateSpec({ ...base, mode: 'open' as never })).toThrow(UsageError);
    expect(() => validateSpec({ ...base, mode: 'allowlist', allowFrom: '10.0.0.0/8' as never })).toThrow(UsageError);
    expect(() => validateSpec({ ...base, mode: 'allowlist', allowFrom: [10 as never] })).toThrow(UsageError);
  });

  it('shQuote single-quotes safe values and refuses anything else as a program error', () => {
    expect(shQuote('10.0.0.0/8')).toBe("'10.0.0.0/8'");
    for (const bad of HOSTILE.filter((h) => h !== '' && !/^x+$/.test(h))) expect(() => shQuote(bad)).toThrow(Error);
  });
});
