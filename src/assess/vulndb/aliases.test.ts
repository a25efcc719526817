import { describe, expect, it } from 'vitest';
import { cpeAliases } from './aliases.js';

describe('cpeAliases', () => {
  it('names a product under each of its vendors, keeping every other field', () => {
    expect(cpeAliases('cpe:2.3:a:igor_sysoev:nginx:1.22.1:*:*:*:*:*:*:*')).toEqual([
      'cpe:2.3:a:igor_sysoev:nginx:1.22.1:*:*:*:*:*:*:*',
      'cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*',
      'cpe:2.3:a:nginx:nginx:1.22.1:*:*:*:*:*:*:*',
    ]);
    expect(cpeAliases('cpe:2.3:a:beasts:vsftpd:2.3.4:*:*:*:*:*:*:*')).toContain('cpe:2.3:a:vsftpd_project:vsftpd:2.3.4:*:*:*:*:*:*:*');
  });

  it('leaves unknown products and malformed names alone', () => {
    expect(cpeAliases('cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*')).toEqual(['cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*']);
    for (const bad of ['', 'cpe:/a:f5:nginx', 'x'.repeat(10_000), 'cpe:2.3:a']) expect(cpeAliases(bad)).toEqual([bad]);
  });
});
