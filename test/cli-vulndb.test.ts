/** `portolan vulndb update/status`: the fixture feeds (plain and gzip) into the store; a bad file changes nothing. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { TEST_HOME, runCli } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());
const FX = join(import.meta.dirname, 'fixtures');

describe('portolan vulndb', () => {
  it('imports NVD pages, the KEV catalog and EPSS scores (gzip too), and says what the store holds', async () => {
    const db = where.next('sqlite');
    const gz = join(TEST_HOME, 'page-2.json.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(FX, 'nvd', 'page-2.json'))));
    const r = await runCli(['vulndb', 'update', '--db', db, '--nvd', join(FX, 'nvd', 'page-1.json'), gz, '--kev', join(FX, 'kev', 'known_exploited_vulnerabilities.json'), '--epss', join(FX, 'epss', 'epss_scores.csv')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^vulndb: 2 CVEs from .*page-1\.json\n/);
    expect(r.stdout).toMatch(/vulndb: 3 CVEs from .*page-2\.json\.gz \(1 rejected left out\)\n/);
    expect(r.stdout).toMatch(/vulndb: 5 known exploited vulnerabilities \(KEV catalog [^)]+\)\n/);
    expect(r.stdout).toMatch(/vulndb: 8 EPSS scores from .*epss_scores\.csv\n/);
    const status = await runCli(['vulndb', 'status', '--db', db]);
    expect(status.stdout).toBe('vulndb: 5 CVEs, 5 known exploited, 8 EPSS scores\n');
    const store = await openStore(db);
    try {
      const ssh = await store.vulnCandidates([{ vendor: 'openbsd', product: 'openssh' }]);
      expect(ssh.map((c) => c.id)).toEqual(expect.arrayContaining(['CVE-2023-38408', 'CVE-2024-6387']));
      expect(ssh.find((c) => c.id === 'CVE-2024-6387')?.configurations).toBeInstanceOf(Array);
    } finally {
      await store.close();
    }
  });

  it('refuses a bad file with one line and exit 2, before changing anything', async () => {
    const db = where.next('sqlite');
    const bad = join(TEST_HOME, 'not-nvd.json');
    writeFileSync(bad, '{"hello": "world"}');
    for (const args of [['--nvd', join(FX, 'nvd', 'page-1.json'), bad], ['--kev', join(TEST_HOME, 'missing.json')], []]) {
      const r = await runCli(['vulndb', 'update', '--db', db, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    }
    expect((await runCli(['vulndb', 'status', '--db', db])).stdout).toBe('vulndb: 0 CVEs, 0 known exploited, 0 EPSS scores\n');
  });
});
