import { describe, expect, it } from 'vitest';
import { parsePolicy } from './policy.js';
import { DEFAULT_INTERNAL_NETWORKS, policySources } from './policy-sources.js';

const open = (address: string, port: number, name?: string) => ({ address, protocol: 'tcp' as const, port, state: 'open', ...(name !== undefined && { name }) });

describe('policySources: a policy rule\'s from: as firewall sources', () => {
  const policy = parsePolicy(
    [
      'groups:',
      '  - name: db',
      '    hosts: [198.51.100.0/24]',
      '    allow:',
      '      - { port: 5432, service: postgresql, from: [10.1.2.3, 10.8.0.0/16, "2001:db8::/32"] }',
      '      - { port: 5432, service: postgresql, from: [10.8.0.0/16, 192.168.7.9/24] }',
      '      - { port: 22, service: ssh, from: internal }',
      '      - { port: 80 }',
      '',
    ].join('\n'),
  );

  it('turns addresses and networks into CIDRs (host bits cleared), unions rules', () => {
    expect(policySources(policy, open('198.51.100.5', 5432, 'postgresql'))).toEqual({ allowed: true, from: ['10.1.2.3/32', '10.8.0.0/16', '2001:db8::/32', '192.168.7.0/24'] });
  });

  it('from: internal means the private ranges unless internal_networks says otherwise', () => {
    expect(policySources(policy, open('198.51.100.5', 22, 'ssh'))).toEqual({ allowed: true, from: [...DEFAULT_INTERNAL_NETWORKS] });
    const own = parsePolicy('internal_networks: [10.20.0.0/16]\ngroups:\n  - name: a\n    hosts: [198.51.100.5]\n    allow: [{ port: 22, from: internal }]\n');
    expect(policySources(own, open('198.51.100.5', 22))).toEqual({ allowed: true, from: ['10.20.0.0/16'] });
  });

  it('allowed from anywhere: nothing to restrict to; not allowed: says so', () => {
    expect(policySources(policy, open('198.51.100.5', 80))).toEqual({ allowed: true });
    expect(policySources(policy, open('198.51.100.5', 6379, 'redis'))).toEqual({ allowed: false });
    expect(policySources(policy, open('203.0.113.1', 5432, 'postgresql'))).toEqual({ allowed: false });
  });

  it('refuses nothing hostile: a bad service record is simply not allowed', () => {
    expect(policySources(policy, { address: 'x;rm -rf /', protocol: 'tcp', port: 5432, state: 'open' })).toEqual({ allowed: false });
    expect(policySources(policy, { address: '198.51.100.5', protocol: 'tcp', port: 70000, state: 'open' })).toEqual({ allowed: false });
  });
});
