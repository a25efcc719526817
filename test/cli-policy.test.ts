/** `portolan check` and `portolan baseline` over stored imports: unexpected and missing services, exit codes for CI, the baseline round trip. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME, runCli } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());

/** An nmap -oG file of one host with `ports` (`22/open/tcp//ssh//OpenSSH 9.2p1/`). */
function gnmap(name: string, ports: string[], address = '198.18.0.9', hostname = ''): string {
  const file = join(TEST_HOME, `policy-${name}.gnmap`);
  writeFileSync(
    file,
    `# Nmap 7.93 scan initiated Sat Nov 21 07:48:43 2026 as: nmap -sT -sV -oG ${name}.gnmap ${address}\nHost: ${address} (${hostname})\tStatus: Up\nHost: ${address} (${hostname})\tPorts: ${ports.join(', ')}\n# Nmap done at Sat Nov 21 07:49:08 2026 -- 1 IP address (1 host up) scanned in 25.37 seconds\n`,
  );
  return file;
}

function policyFile(name: string, text: string): string {
  const file = join(TEST_HOME, `policy-${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

interface Row {
  kind: string;
  address: string;
  port: number;
  protocol: string;
  state: string;
  service?: string;
  group: string;
  groups?: string[];
  rule?: string;
  reason: string;
  scan: number;
}

const squeeze = (text: string): string[] => text.trimEnd().split('\n').map((l) => l.replace(/ +/g, ' '));

describe('portolan check and baseline', () => {
  const db = where.next('sqlite');
  // Scan 1: the known-good state, plus telnet nobody asked for and https closed.
  const first = gnmap('first', ['22/open/tcp//ssh//OpenSSH 9.2p1/', '23/open/tcp//telnet///', '80/open/tcp//http//nginx 1.22.1/', '443/closed/tcp//https///'], '198.18.0.9', 'www.example.test');
  // Scan 2: the same host later, with a database opened.
  const second = gnmap('second', ['22/open/tcp//ssh//OpenSSH 9.2p1/', '23/open/tcp//telnet///', '80/open/tcp//http//nginx 1.22.1/', '3306/open/tcp//mysql//MySQL 8.0.36/']);
  const web = policyFile(
    'web',
    `groups:\n  - name: web\n    owner: web@example.org\n    zone: dmz\n    hosts: [198.18.0.9]\n    allow:\n      - 22/tcp ssh\n      - 80/tcp http\n      - 443/tcp https\n      - 8443/tcp https\n`,
  );

  it('imports the scans', async () => {
    for (const f of [first, second]) {
      const r = await runCli(['import', '--db', db, f]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('lists an unexpected service with its group and reason, and an expected one the scan saw closed; exits 1', async () => {
    const r = await runCli(['check', '--db', db, '--policy', web, '--scan', '1']);
    expect(r.code, r.stderr).toBe(1);
    expect(squeeze(r.stdout)).toEqual([
      'PROBLEM HOST PORT STATE SERVICE GROUP REASON',
      'unexpected 198.18.0.9 23/tcp open telnet web no rule of group web allows 23/tcp (telnet)',
      'missing 198.18.0.9 443/tcp closed - web group web expects 443/tcp https on 198.18.0.9, but the scan found it closed',
    ]);
    // 8443 is in the policy but the scan never looked there: not reported missing.
    expect(r.stdout).not.toContain('8443');
    const json = await runCli(['check', '--db', db, '--policy', web, '--scan', '1', '--json']);
    expect(json.code, json.stderr).toBe(1);
    const rows = JSON.parse(json.stdout) as Row[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ kind: 'unexpected', address: '198.18.0.9', port: 23, protocol: 'tcp', state: 'open', service: 'telnet', group: 'web', groups: ['web'], zone: 'dmz', scan: 1 });
    expect(rows[0]!.reason).toBe('no rule of group web allows 23/tcp (telnet)');
    expect(rows[1]).toMatchObject({ kind: 'missing', port: 443, state: 'closed', group: 'web', rule: '443/tcp https', scan: 1 });
    expect(rows[1]!.reason).toMatch(/expects 443\/tcp https on 198\.18\.0\.9.*closed/);
    const csv = await runCli(['check', '--db', db, '--policy', web, '--scan', '1', '--format', 'csv']);
    expect(csv.code).toBe(1);
    expect(csv.stdout.split(/\r?\n/)[0]).toMatch(/^PROBLEM,HOST,PORT,STATE,SERVICE,GROUP,REASON/);
  });

  it('checks the newest scan without --scan', async () => {
    const r = await runCli(['check', '--db', db, '--policy', web, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.every((row) => row.scan === 2)).toBe(true);
    expect(rows.map((row) => `${row.kind} ${row.port}`)).toEqual(['unexpected 23', 'unexpected 3306']);
  });

  it('exits 0 with one line when everything open is allowed and nothing expected is missing', async () => {
    const clean = policyFile('clean', 'groups:\n  - name: web\n    hosts: [198.18.0.0/24]\n    allow: [22/tcp ssh, 23/tcp telnet, http, 8443/tcp]\n');
    const r = await runCli(['check', '--db', db, '--policy', clean, '--scan', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('scan 1 matches the policy: 3 open services allowed, nothing expected is missing\n');
    const json = await runCli(['check', '--db', db, '--policy', clean, '--scan', '1', '--json']);
    expect(json.code).toBe(0);
    expect(json.stdout).toBe('[]\n');
  });

  it('matches groups by the host name the scan reported', async () => {
    const named = policyFile('named', 'default:\n  allow: []\ngroups:\n  - name: site\n    hosts: [www.example.test]\n    allow: [22/tcp ssh, 80/tcp http]\n');
    const r = await runCli(['check', '--db', db, '--policy', named, '--scan', '1', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect((JSON.parse(r.stdout) as Row[]).map((row) => `${row.kind} ${row.port} ${row.group}`)).toEqual(['unexpected 23 site']);
  });

  it('writes a baseline that check then accepts for the same scan, and catches what opened later', async () => {
    const out = join(TEST_HOME, 'policy-baseline.yaml');
    const written = await runCli(['baseline', '--db', db, '--from-scan', '1', '-o', out]);
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toMatch(/1 group from scan 1 written to/);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('198.18.0.9');
    expect(text).toMatch(/- 22\/tcp ssh\n\s+- 23\/tcp telnet\n\s+- 80\/tcp http\n/);
    expect(text).not.toContain('443');
    // The same text on stdout without -o.
    const printed = await runCli(['baseline', '--db', db, '--from-scan', '1']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(text);

    const same = await runCli(['check', '--db', db, '--policy', out, '--scan', '1']);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    const later = await runCli(['check', '--db', db, '--policy', out, '--scan', '2', '--json']);
    expect(later.code, later.stderr).toBe(1);
    expect((JSON.parse(later.stdout) as Row[]).map((row) => `${row.kind} ${row.port} ${row.service ?? ''}`)).toEqual(['unexpected 3306 mysql']);
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const out = policyFile('existing', '# keep me\n');
    const refused = await runCli(['baseline', '--db', db, '--from-scan', '2', '-o', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/exists; give --force/);
    expect(readFileSync(out, 'utf8')).toBe('# keep me\n');
    const forced = await runCli(['baseline', '--db', db, '--from-scan', '2', '-o', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('3306/tcp mysql');
    const r = await runCli(['check', '--db', db, '--policy', out, '--scan', '2']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('rejects a bad policy file with the path of the bad field, exit 2, before touching the store', async () => {
    const bad = policyFile('bad', 'groups:\n  - name: web\n    hosts: [198.18.0.9]\n    allow:\n      - 22/tcp ssh\n      - { port: 70000, service: http }\n');
    const fresh = where.next('sqlite');
    for (const store of [db, fresh]) {
      const r = await runCli(['check', '--db', store, '--policy', bad]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('groups[0].allow[1].port');
      expect(r.stderr).toMatch(/line 6/);
    }
    expect(existsSync(fresh)).toBe(false);
    const notYaml = policyFile('garbage', '\u0000\u0001{{{[[[: :\n');
    const g = await runCli(['check', '--db', db, '--policy', notYaml]);
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/^portolan: policy /);
    const missing = await runCli(['check', '--db', db, '--policy', join(TEST_HOME, 'no-such-policy.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--policy .*cannot read the file \(ENOENT\)/);
    // Read with a cap: an endless or huge file is refused by size, not read into memory.
    for (const huge of ['/dev/zero', policyFile('huge', `# ${'x'.repeat(16 * 1024 * 1024)}\n`)]) {
      const h = await runCli(['check', '--db', db, '--policy', huge]);
      expect(h.code).toBe(2);
      expect(h.stderr).toMatch(/larger than 16 MiB/);
    }
    const dir = await runCli(['check', '--db', db, '--policy', TEST_HOME]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/cannot read the file/);
  });

  it('refuses an unknown or malformed scan id, and an empty store, with one line and exit 2', async () => {
    for (const args of [
      ['check', '--db', db, '--policy', web, '--scan', '99'],
      ['check', '--db', db, '--policy', web, '--scan', 'x'],
      ['check', '--db', db, '--policy', web, '--scan', '0'],
      ['check', '--db', where.next('sqlite'), '--policy', web],
      ['baseline', '--db', db, '--from-scan', '99'],
      ['baseline', '--db', db, '--from-scan', '-1'],
      ['baseline', '--db', db, '--from-scan', '1', '--zone', 'moon'],
      ['baseline', '--db', db, '--from-scan', '1', '--force'],
    ]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    }
    const unknown = await runCli(['check', '--db', db, '--policy', web, '--scan', '99']);
    expect(unknown.stderr).toMatch(/no scan 99 in the store/);
  });
});
