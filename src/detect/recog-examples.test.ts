import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRecogExamples, recogMatch } from './recog-examples.js';
import { loadRecogText, parseRecogXml } from './recog.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/signatures/${name}`, import.meta.url), 'utf8');

describe('Recog <example> checking', () => {
  it('passes every example of the good fixtures', () => {
    for (const name of ['recog-ssh.xml', 'recog-http.xml']) {
      const db = parseRecogXml(fixture(name), name);
      expect(checkRecogExamples(db), name).toEqual([]);
      expect(db.warnings, name).toEqual([]);
    }
  });
  it('reports examples that do not match or yield other values', () => {
    const db = parseRecogXml(fixture('recog-bad-examples.xml'), 'bad.xml');
    const failures = checkRecogExamples(db);
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatchObject({ fingerprint: 1, line: 4, example: 1 });
    expect(failures[0]?.message).toMatch(/service\.version is "1\.1", the example expects "1\.0"/);
    expect(failures[1]?.message).toMatch(/does not match "220 Something else"/);
    expect(failures[2]?.message).toMatch(/service\.vendor is missing/);
    const loaded = loadRecogText(fixture('recog-bad-examples.xml'), 'bad.xml');
    expect(loaded.signatures).toHaveLength(2);
    expect(loaded.probes).toEqual([]);
    expect(loaded.warnings.join('\n')).toMatch(/unknown flag "REG_FANCY"/);
    expect(loaded.warnings.join('\n')).toMatch(/fingerprint 2 \(line 12\): atomic groups/);
    expect(loaded.warnings.join('\n')).toMatch(/fingerprint 1 \(line 4\) example 2: does not match/);
  });
  it('returns the Recog attributes of a match', () => {
    const fp = parseRecogXml(fixture('recog-ssh.xml'), 'x.xml').fingerprints[0]!;
    expect(recogMatch(fp, 'OpenSSH_9.6p1 Ubuntu-3ubuntu13')).toEqual({
      'service.vendor': 'OpenBSD',
      'service.product': 'OpenSSH',
      'service.version': '9.6p1',
      'os.vendor': 'Ubuntu',
      'openssh.comment': '3ubuntu13',
      'service.cpe23': 'cpe:/a:openbsd:openssh:9.6p1',
    });
    expect(recogMatch(fp, 'nope')).toBeUndefined();
  });
});
