/** `portolan diff` over stored imports: new, closed, reopened, changed; table and JSON; exit codes as ndiff's. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME, runCli } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());

/** An nmap -oG file of one host with `ports` (`22/open/tcp//ssh//OpenSSH 9.2p1/`). */
function gnmap(name: string, ports: string[], address = '198.18.0.9'): string {
  const file = join(TEST_HOME, `${name}.gnmap`);
  writeFileSync(
    file,
    `# Nmap 7.93 scan initiated Sat Nov 21 07:48:43 2026 as: nmap -sT -sV -oG ${name}.gnmap ${address}\nHost: ${address} ()\tStatus: Up\nHost: ${address} ()\tPorts: ${ports.join(', ')}\n# Nmap done at Sat Nov 21 07:49:08 2026 -- 1 IP address (1 host up) scanned in 25.37 seconds\n`,
  );
  return file;
}

describe('portolan diff', () => {
  const db = where.next('sqlite');

  it('reports what changed between two scans, and exits 1', async () => {
    const first = gnmap('first', ['22/open/tcp//ssh//OpenSSH 9.2p1/', '23/open/tcp//telnet///', '80/open/tcp//http//nginx 1.22.1/']);
    const second = gnmap('second', ['22/open/tcp//ssh//OpenSSH 9.6p1/', '23/closed/tcp//telnet///', '80/filtered/tcp//http///', '443/open/tcp//https///']);
    const third = gnmap('third', ['22/open/tcp//ssh//OpenSSH 9.6p1/', '23/open/tcp//telnet///', '80/filtered/tcp//http///', '443/open/tcp//https///']);
    for (const f of [first, second, third]) expect((await runCli(['import', '--db', db, f])).code).toBe(0);
    const r = await runCli(['diff', '--db', db, '1', '2']);
    expect(r.code, r.stderr).toBe(1);
    const rows = r.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^CHANGE +HOST +PORT +SERVICE +DETAIL$/);
    expect(rows.slice(1).map((l) => l.replace(/ +/g, ' '))).toEqual([
      'changed 198.18.0.9 22/tcp ssh OpenSSH 9.6p1 version 9.2p1 → 9.6p1',
      'closed 198.18.0.9 23/tcp telnet now closed',
      'closed 198.18.0.9 80/tcp http nginx 1.22.1 now filtered',
      'new 198.18.0.9 443/tcp https',
    ]);
    // Telnet was open in scan 1, closed in 2, open again in 3: reopened.
    const json = await runCli(['diff', '--db', db, '2', '3', '--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { kind: string; port: number; key: string }[]).map((e) => `${e.kind} ${e.key}`)).toEqual(['reopened 198.18.0.9/tcp/23']);
  });

  it('exits 0 with a line saying so when nothing changed', async () => {
    const r = await runCli(['diff', '--db', db, '3', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('no changes between scans 3 and 3\n');
  });

  it('refuses an unknown scan or a bad id with one line and exit 2', async () => {
    for (const args of [['1', '99'], ['x', '1'], ['0', '1']]) {
      const r = await runCli(['diff', '--db', db, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
