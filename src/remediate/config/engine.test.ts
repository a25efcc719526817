/**
 * The patch engine as the scripts run it: the `conf_awk` function is cut out of each generated apply
 * script and run by bash over sample files, once with mawk (Debian's default awk) and once with gawk.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configBackend } from './registry.js';
import type { ConfigPatchSpec } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'portolan-config-engine-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AWKS = ['mawk', 'gawk'].filter((a) => existsSync(`/usr/bin/${a}`));
for (const a of AWKS) {
  mkdirSync(join(dir, a));
  symlinkSync(`/usr/bin/${a}`, join(dir, a, 'awk'));
}

/** The conf_awk function of a backend's apply script. */
function engine(id: string, spec: Partial<ConfigPatchSpec> = {}): string {
  const { apply } = configBackend(id)!.build({ findingKey: 'k', ...spec });
  const m = /^conf_awk\(\) \{\n[\s\S]*?\n' "\$@"\n\}\n/m.exec(apply);
  if (!m) throw new Error(`no conf_awk in the ${id} script`);
  return m[0];
}

let n = 0;
/** Run `conf_awk MODE` on text with one awk: status and output. */
function run(fn: string, awk: string, mode: 'check' | 'write', text: string): { status: number | null; out: string } {
  const file = join(dir, `in-${n++}`);
  writeFileSync(file, text);
  const r = spawnSync('bash', ['--norc', '-c', `set -euo pipefail\n${fn}conf_awk "$1" "$2"`, 'x', mode, file], {
    input: '',
    encoding: 'utf8',
    env: { PATH: `${join(dir, awk)}:/usr/bin:/bin`, LC_ALL: 'C' },
    timeout: 10_000,
  });
  if (r.stderr !== '') throw new Error(r.stderr);
  return { status: r.status, out: r.stdout };
}

interface Case {
  name: string;
  input: string;
  /** Expected write output; undefined: the input is already in place (check exits 0). */
  output?: string;
}

function cases(id: string, list: Case[], spec: Partial<ConfigPatchSpec> = {}): void {
  describe.each(AWKS)(`${id} engine (%s)`, (awk) => {
    const fn = engine(id, spec);
    it.each(list)('$name', ({ input, output }) => {
      const before = run(fn, awk, 'check', input);
      if (output === undefined) {
        expect(before.status).toBe(0);
        return;
      }
      expect(before.status).toBe(1);
      const w = run(fn, awk, 'write', input);
      expect(w.status).toBe(0);
      expect(w.out).toBe(output);
      // Idempotent: the result is in place, so a second run changes nothing.
      expect(run(fn, awk, 'check', w.out).status).toBe(0);
    });
  });
}

cases('redis', [
  { name: 'Debian default is already in place', input: '# bind 127.0.0.1 ::1\nbind 127.0.0.1 -::1\nport 6379\n' },
  { name: 'bind everywhere', input: 'a\nbind * -::*\nb\n', output: 'a\n# portolan: bind * -::*\nbind 127.0.0.1 -::1\nb\n' },
  { name: 'without the optional dash it is patched', input: 'bind 127.0.0.1 ::1\n', output: '# portolan: bind 127.0.0.1 ::1\nbind 127.0.0.1 -::1\n' },
  {
    name: 'two binds, mixed case: both commented, one line after the last; bind-source-addr kept',
    input: 'bind 0.0.0.0\nbind-source-addr 10.0.0.1\n  BIND   10.0.0.1\nport 1\n',
    output: '# portolan: bind 0.0.0.0\nbind-source-addr 10.0.0.1\n# portolan:   BIND   10.0.0.1\nbind 127.0.0.1 -::1\nport 1\n',
  },
  { name: 'no bind: after the last commented example', input: '# bind 192.0.2.1\n# bind * -::*\nport 1\n', output: '# bind 192.0.2.1\n# bind * -::*\nbind 127.0.0.1 -::1\nport 1\n' },
  { name: 'nothing at all: at the end', input: 'port 1\n', output: 'port 1\nbind 127.0.0.1 -::1\n' },
  { name: 'empty file', input: '', output: 'bind 127.0.0.1 -::1\n' },
  { name: 'CRLF stays CRLF', input: 'bind *\r\nport 1\r\n', output: '# portolan: bind *\r\nbind 127.0.0.1 -::1\r\nport 1\r\n' },
  { name: 'no final newline', input: 'port 1\nbind *', output: 'port 1\n# portolan: bind *\nbind 127.0.0.1 -::1\n' },
  { name: 'blank-insensitive in-place check', input: '\tbind   127.0.0.1\t-::1  \n' },
]);

cases('redis', [{ name: 'a lone ::1 is mandatory (no dash)', input: 'bind *\n', output: '# portolan: bind *\nbind ::1\n' }], { listen: ['::1'] });

cases('redis', [{ name: 'custom list', input: 'bind *\n', output: '# portolan: bind *\nbind 192.0.2.7 2001:db8::7 -::1\n' }], {
  listen: ['192.0.2.7', '2001:DB8:0::7', '::1'],
});

cases('postgresql', [
  {
    name: 'Debian: only the commented default',
    input: "#listen_addresses = 'localhost'\t\t# addresses to listen on\nport = 5432\n",
    output: "#listen_addresses = 'localhost'\t\t# addresses to listen on\nlisten_addresses = 'localhost'\nport = 5432\n",
  },
  { name: 'already localhost, with a trailing comment', input: "listen_addresses = 'localhost'   # set by hand\n" },
  { name: "'*' without blanks, upper case", input: "LISTEN_ADDRESSES='*'\n", output: "# portolan: LISTEN_ADDRESSES='*'\nlisten_addresses = 'localhost'\n" },
]);

cases('postgresql', [{ name: 'literals', input: "listen_addresses '*'\n", output: "# portolan: listen_addresses '*'\nlisten_addresses = '127.0.0.1,::1'\n" }], {
  listen: ['127.0.0.1', '::1'],
});

cases('mysql', [
  {
    name: 'only server groups count; the client option and mysqlx-bind-address stay',
    input: '[client]\nbind-address = 192.0.2.1\n[mysqld]\nbind-address = 0.0.0.0\nmysqlx-bind-address = 0.0.0.0\n[mariadb-10.11]\nloose_bind_address=0.0.0.0 # x\n[embedded]\n',
    output:
      '[client]\nbind-address = 192.0.2.1\n[mysqld]\n# portolan: bind-address = 0.0.0.0\nmysqlx-bind-address = 0.0.0.0\n[mariadb-10.11]\n# portolan: loose_bind_address=0.0.0.0 # x\nbind-address = 127.0.0.1\n[embedded]\n',
  },
  { name: 'after a commented ;bind-address', input: '[mysqld]\nport = 3306\n;bind-address = 127.0.0.1\nuser = mysql\n', output: '[mysqld]\nport = 3306\n;bind-address = 127.0.0.1\nbind-address = 127.0.0.1\nuser = mysql\n' },
  { name: 'under the [mysqld] header', input: '[server]\n[ mysqld ]\nport = 3306\n', output: '[server]\n[ mysqld ]\nbind-address = 127.0.0.1\nport = 3306\n' },
  { name: 'a new [mysqld] section at the end', input: '[client]\nport = 3306\n', output: '[client]\nport = 3306\n[mysqld]\nbind-address = 127.0.0.1\n' },
  { name: 'Debian default in place', input: '[mysqld]\nbind-address            = 127.0.0.1\n' },
]);

cases('memcached', [
  { name: 'Debian default in place', input: '-m 64\n-p 11211\n-l 127.0.0.1\n' },
  {
    name: 'every -l form counts; -L (large pages) does not',
    input: '-L\n-l 0.0.0.0\n-l10.0.0.1 # lan\n--listen=192.0.2.1\n-p 11211\n',
    output: '-L\n# portolan: -l 0.0.0.0\n# portolan: -l10.0.0.1 # lan\n# portolan: --listen=192.0.2.1\n-l 127.0.0.1\n-p 11211\n',
  },
  { name: 'commented -l: right after it', input: '# -l 127.0.0.1\n-p 1\n', output: '# -l 127.0.0.1\n-l 127.0.0.1\n-p 1\n' },
]);

cases('memcached', [{ name: 'IPv6 in brackets', input: '-l 0.0.0.0\n', output: '# portolan: -l 0.0.0.0\n-l 127.0.0.1,[::1]\n' }], { listen: ['127.0.0.1', '::1'] });

const WANT_SSH = 'ListenAddress 127.0.0.1\nListenAddress ::1\n';
cases('sshd', [
  {
    name: 'Debian 12: after the commented defaults, before the Include-free rest',
    input: 'Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n#ListenAddress 0.0.0.0\n#ListenAddress ::\n\nUsePAM yes\n',
    output: `Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n#ListenAddress 0.0.0.0\n#ListenAddress ::\n${WANT_SSH}\nUsePAM yes\n`,
  },
  {
    name: 'active lines before a Match; a commented one after it is no anchor',
    input: 'listenaddress=0.0.0.0\nPort 22\nMatch User backup\n#ListenAddress ::\n  X11Forwarding no\n',
    output: `# portolan: listenaddress=0.0.0.0\n${WANT_SSH}Port 22\nMatch User backup\n#ListenAddress ::\n  X11Forwarding no\n`,
  },
  { name: 'no anchor: right before the first Match', input: 'Port 22\nUsePAM yes\nMatch Group sftp\n  ForceCommand internal-sftp\n', output: `Port 22\nUsePAM yes\n${WANT_SSH}Match Group sftp\n  ForceCommand internal-sftp\n` },
  { name: 'Match on line 1: at the very top', input: 'Match all\n', output: `${WANT_SSH}Match all\n` },
  { name: 'no Match: at the end', input: 'Port 22\n', output: `Port 22\n${WANT_SSH}` },
  { name: 'in place (case-insensitive)', input: `Port 22\nlistenaddress 127.0.0.1\nLISTENADDRESS ::1\nMatch all\n` },
  { name: 'order matters: reversed lines are rewritten', input: 'ListenAddress ::1\nListenAddress 127.0.0.1\n', output: `# portolan: ListenAddress ::1\n# portolan: ListenAddress 127.0.0.1\n${WANT_SSH}` },
]);

describe('engine: want mode prints the lines from the same program', () => {
  it.each(AWKS)('%s', (awk) => {
    const fn = engine('postgresql');
    const r = spawnSync('bash', ['--norc', '-c', `set -euo pipefail\n${fn}conf_awk want`], { input: '', encoding: 'utf8', env: { PATH: `${join(dir, awk)}:/usr/bin:/bin` }, timeout: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe("listen_addresses = 'localhost'\n");
  });
  it('both awks are here (mawk is what Debian runs by default)', () => {
    expect(AWKS).toContain('mawk');
  });
});

describe('before/after excerpts are what the engine really does', () => {
  const specs: Partial<ConfigPatchSpec>[] = [{}, { listen: ['192.0.2.7', '::1'] }];
  it.each(['redis', 'postgresql', 'mysql', 'memcached', 'sshd'])('%s', (id) => {
    for (const spec of specs) {
      const out = configBackend(id)!.build({ findingKey: 'k', ...spec });
      for (const awk of AWKS) {
        const fn = engine(id, spec);
        expect(run(fn, awk, 'check', out.before).status).toBe(1);
        expect(run(fn, awk, 'write', out.before).out).toBe(out.after);
        expect(run(fn, awk, 'check', out.after).status).toBe(0);
      }
    }
  });
});
