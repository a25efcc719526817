import { describe, expect, it } from 'vitest';
import { cpe23, splitCpe23, toCpe22 } from './cpe.js';

describe('cpe', () => {
  it('builds CPE 2.3 formatted strings', () => {
    expect(cpe23('a', 'openbsd', 'openssh', '9.2p1')).toBe('cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*');
    expect(cpe23('a', 'Apache', 'HTTP Server')).toBe('cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*');
  });

  it('escapes banner text so it cannot add or shift fields', () => {
    const name = cpe23('a', 'x', 'y', '1.0:*:evil');
    expect(splitCpe23(name)).toHaveLength(11);
    expect(splitCpe23(name)?.[3]).toBe('1.0\\:\\*\\:evil');
    expect(cpe23('a', 'x', 'y', '')).toBe('cpe:2.3:a:x:y:*:*:*:*:*:*:*:*');
  });

  it('converts to nmap\'s 2.2 URI form', () => {
    expect(toCpe22('cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*')).toBe('cpe:/a:openbsd:openssh:9.2p1');
    expect(toCpe22('cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*')).toBe('cpe:/o:linux:linux_kernel');
    expect(toCpe22(cpe23('a', 'x', 'y', '1:2'))).toBe('cpe:/a:x:y:1%3a2');
    expect(toCpe22('cpe:/a:already:uri')).toBe('cpe:/a:already:uri');
    expect(splitCpe23('cpe:2.3:a:too:short')).toBeUndefined();
  });
});
