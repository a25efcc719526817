/**
 * Live proof of the generated iptables and nftables scripts. Every case makes its own network
 * namespace, loads a baseline there, runs the apply and rollback scripts inside it with the real tools,
 * and checks both the dumps and real TCP connects to 127.0.0.1 and ::1 inside that namespace. Nothing
 * runs in the host's own namespace: every command goes through `ip netns exec`, and backups go to a
 * temp dir through PORTOLAN_BACKUP_ROOT.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { iptablesBackend } from '../src/remediate/firewall/iptables.js';
import { nftablesBackend } from '../src/remediate/firewall/nftables.js';
import { CASE_MS, KEY, P, Q, SYSTEM_PATH, allow, block, expectDryRunInert, expectReach, expectRefused, has, inNamespace, missing, needs, ok, type Namespace } from './helpers/fw-namespace.js';

const NFT_BASELINE = `table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tiifname "lo" accept
\t\ttcp dport 22 accept
\t}
}
`;

const NFT_MISSING = missing(['ip', 'nft']);

describe.skipIf(NFT_MISSING.length > 0)(`nftables scripts in a namespace${needs(NFT_MISSING)}`, () => {
  const nftList = (ns: Namespace) => (): string => ns.run('nft', ['list', 'ruleset']);

  it('block, idempotent re-run, replacement without pile-up, byte-identical rollback', { timeout: CASE_MS }, () =>
    inNamespace(async (ns) => {
      const list = nftList(ns);
      // The baseline accepts loopback in its own base chain: our chain must still drop, because an
      // accept ends only the chain it is in and every base chain on the hook gets its say.
      ns.run('nft', ['-f', '-'], NFT_BASELINE);
      const base = list();
      expect(base).toBe(NFT_BASELINE);
      await ns.serve([P, Q]);
      expectReach(ns, []);
      expectDryRunInert(ns, nftablesBackend, list);

      const blocked = nftablesBackend.build(block);
      ok(ns, blocked.apply, ['--apply']);
      const first = ns.lastBackup('nftables');
      const after = list();
      expect(after).toBe(`${base}table inet portolan {\n\tchain in_tcp_${P} {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport ${P} ct state new drop comment "portolan:${KEY}"\n\t}\n}\n`);
      expectReach(ns, [`127.0.0.1 ${P}`, `::1 ${P}`]);

      ok(ns, blocked.apply, ['--apply']);
      expect(list()).toBe(after);

      ok(ns, nftablesBackend.build(allow).apply, ['--apply']);
      const now = list();
      const chain = new RegExp(`chain in_tcp_${P} \\{\\n([^}]*)\\}`).exec(now)?.[1];
      const rules = [`ip saddr 127.0.0.1 tcp dport ${P} accept`, `tcp dport ${P} ct state new drop`].map((r) => `\t\t${r} comment "portolan:${KEY}"\n`);
      expect(chain).toBe(`\t\ttype filter hook input priority filter; policy accept;\n${rules.join('')}\t`);
      expectReach(ns, [`::1 ${P}`]);
      // A dry run of the rollback, given a real backup, still changes nothing.
      expect(ok(ns, blocked.rollback, [first])).toContain(`+ nft -f ${first}/nftables.restore\n`);
      expect(list()).toBe(now);

      ok(ns, blocked.rollback, ['--apply', first]);
      expect(list()).toBe(base);
      expectReach(ns, []);
    }),
  );

  it('rollback keeps what other tools added after the apply', { timeout: CASE_MS }, () =>
    inNamespace(async (ns) => {
      const list = nftList(ns);
      ns.run('nft', ['-f', '-'], NFT_BASELINE);
      await ns.serve([P, Q]);
      const out = nftablesBackend.build(block);
      ok(ns, out.apply, ['--apply']);
      // Another tool (a fail2ban-style ban list) adds its own table while our rule is in place.
      const other = 'table inet other {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tip saddr 192.0.2.1 drop\n\t}\n}\n';
      ns.run('nft', ['-f', '-'], other);
      ok(ns, out.rollback, ['--apply', ns.lastBackup('nftables')]);
      expect(list()).toBe(`${NFT_BASELINE}${other}`);
      expectReach(ns, []);
    }),
  );

  it('rollback to an empty ruleset is byte-identical too', { timeout: CASE_MS }, () =>
    inNamespace(async (ns) => {
      const list = nftList(ns);
      expect(list()).toBe('');
      await ns.serve([P, Q]);
      expectDryRunInert(ns, nftablesBackend, list);
      const out = nftablesBackend.build(allow);
      ok(ns, out.apply, ['--apply']);
      expect(list()).toContain(`table inet portolan {\n\tchain in_tcp_${P} {`);
      expectReach(ns, [`::1 ${P}`]);
      ok(ns, out.rollback, ['--apply', ns.lastBackup('nftables')]);
      expect(list()).toBe('');
      expectReach(ns, []);
    }),
  );

  it.skipIf(!has('iptables-nft'))(`leaves iptables-nft's tables alone, even rules nft cannot load back${needs(has('iptables-nft') ? [] : ['iptables-nft'])}`, { timeout: CASE_MS }, () =>
    inNamespace(async (ns) => {
      // nft lists this rule as `xt match recent`, which it cannot parse: a full `flush ruleset` +
      // reload could never restore it, so the rollback reloads only our own table.
      ns.run('iptables-nft', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-m', 'recent', '--name', 'ssh', '--rcheck', '-j', 'DROP']);
      const before = ns.run('nft', ['list', 'ruleset']);
      const iptBefore = ns.run('iptables-nft-save', []).replace(/^#.*\n/gm, '');
      expect(before).toContain('xt match recent');
      await ns.serve([P, Q]);
      const out = nftablesBackend.build(block);
      // `nft list ruleset` warns on stderr that iptables-nft manages `ip filter`: the only stderr line.
      const applied = ns.script(out.apply, ['--apply']);
      expect(applied.status, applied.stderr).toBe(0);
      expect(applied.stderr.replace(/^# Warning: table ip filter is managed by iptables-nft, do not touch!\n/m, '').trim()).toBe('');
      expectReach(ns, [`127.0.0.1 ${P}`, `::1 ${P}`]);
      ok(ns, out.rollback, ['--apply', ns.lastBackup('nftables')]);
      expect(ns.run('nft', ['list', 'ruleset'])).toBe(before);
      expect(ns.run('iptables-nft-save', []).replace(/^#.*\n/gm, '')).toBe(iptBefore);
      expectReach(ns, []);
    }),
  );
});

/**
 * The iptables variants to prove: the machine's own (`iptables -V` says which), and the other one
 * too when its binaries are installed, through a PATH shim of symlinks in the case's temp dir.
 */
interface Variant {
  variant: 'nf_tables' | 'legacy';
  /** Undefined: the machine's own iptables; else the suffix of the other one's commands. */
  shim: 'legacy' | 'nft' | undefined;
}

function iptablesVariants(): Variant[] {
  const v = spawnSync('iptables', ['-V'], { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
  if (v.status !== 0) return [];
  const own: Variant['variant'] = v.stdout.includes('nf_tables') ? 'nf_tables' : 'legacy';
  const other: Variant['variant'] = own === 'nf_tables' ? 'legacy' : 'nf_tables';
  const otherBin = other === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
  return [{ variant: own, shim: undefined }, ...(has(otherBin) ? [{ variant: other, shim: other === 'legacy' ? ('legacy' as const) : ('nft' as const) }] : [])];
}


const IPT_BASELINE = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;

/**
 * A dump with every chain's [packets:bytes] set to [0:0]. iptables-restore without --counters starts
 * every chain it restores from zero, so the built-in chains' counts in the baseline dump (the probes'
 * packets) come back as [0:0] after the rollback. Counters are statistics, not policy: only they are
 * normalised, and only on chain lines (`:NAME POLICY [p:b]`); rules and policies are compared as-is.
 */
const zeroCounters = (dump: string): string => dump.replace(/^(:\S+ \S+) \[\d+:\d+\]$/gm, '$1 [0:0]');

const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

const IPT_TOOLS = ['ip', 'iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore'];

const IPT_MISSING = missing(IPT_TOOLS);
// With a tool missing there is no variant to list; one placeholder row carries the skip message.
const VARIANTS: Variant[] = IPT_MISSING.length > 0 ? [{ variant: 'nf_tables', shim: undefined }] : iptablesVariants();

describe.skipIf(IPT_MISSING.length > 0).each(VARIANTS)(`iptables ($variant) scripts in a namespace${needs(IPT_MISSING)}`, ({ variant, shim }) => {
  /** Both families' dumps, without the `#` lines (they carry the time of the dump). */
  const saves = (ns: Namespace) => (): string =>
    ['iptables-save', 'ip6tables-save'].map((save) => ns.run(save, []).replace(/^#.*\n/gm, '')).join('--- ip6\n');
  const inNs = (body: (ns: Namespace) => Promise<void> | void) => () => inNamespace(body, shim);

  it('block, idempotent re-run, replacement without pile-up, rollback to the baseline', { timeout: CASE_MS }, inNs(async (ns) => {
    expect(ns.run('iptables', ['-V'])).toContain(variant === 'nf_tables' ? '(nf_tables)' : '(legacy)');
    const dump = saves(ns);
    for (const restore of ['iptables-restore', 'ip6tables-restore']) ns.run(restore, ['-w'], IPT_BASELINE);
    await ns.serve([P, Q]);
    expectReach(ns, []);
    const base = dump();
    expect(zeroCounters(base)).toBe(`${IPT_BASELINE}--- ip6\n${IPT_BASELINE}`);
    expectDryRunInert(ns, iptablesBackend, dump);

    const chain = `PORTOLAN-TCP-${P}`;
    const jump = `-A INPUT -p tcp -m tcp --dport ${P} -j ${chain}`;
    const blocked = iptablesBackend.build(block);
    ok(ns, blocked.apply, ['--apply']);
    const first = ns.lastBackup('iptables');
    expectReach(ns, [`127.0.0.1 ${P}`, `::1 ${P}`]);

    // Idempotent: no traffic between the two dumps. Under nf_tables even the counters agree; legacy
    // iptables-restore --noflush recommits the whole table and restarts the built-in chains' policy
    // counters at zero (rule counters survive), so there, and only on chain lines, they are normalised.
    const same = variant === 'nf_tables' ? (d: string): string => d : zeroCounters;
    const before = dump();
    ok(ns, blocked.apply, ['--apply']);
    expect(same(dump())).toBe(same(before));
    expect(before.split(jump)).toHaveLength(3); // one jump per family

    const drop = `-A ${chain} -m conntrack --ctstate NEW -m comment --comment "portolan:${KEY}" -j DROP`;
    ok(ns, iptablesBackend.build(allow).apply, ['--apply']);
    expect(ns.run('iptables', ['-w', '-S', chain])).toBe(`-N ${chain}\n-A ${chain} -s 127.0.0.1/32 -m comment --comment "portolan:${KEY}" -j RETURN\n${drop}\n`);
    expect(ns.run('ip6tables', ['-w', '-S', chain])).toBe(`-N ${chain}\n${drop}\n`);
    expect(dump().split(jump)).toHaveLength(3);
    expectReach(ns, [`::1 ${P}`]);
    // Rolling back the allowlist apply puts back the block rules its backup saved (chain and jump kept).
    const second = ns.lastBackup('iptables');
    ok(ns, iptablesBackend.build(allow).rollback, ['--apply', second]);
    expect(ns.run('iptables', ['-w', '-S', chain])).toBe(`-N ${chain}\n${drop}\n`);
    expect(dump().split(jump)).toHaveLength(3);
    expectReach(ns, [`127.0.0.1 ${P}`, `::1 ${P}`]);
    ok(ns, iptablesBackend.build(allow).apply, ['--apply']);
    // A dry run of the rollback, given a real backup, still changes nothing (no traffic in between).
    const now = dump();
    expect(ok(ns, blocked.rollback, [first])).toContain(`? saved_chain_exists ${first}/iptables.rules ${chain}\n`);
    expect(dump()).toBe(now);

    // What the replacement rests on: with --noflush, redeclaring a user chain empties just that chain.
    for (const [cmd, restore] of [['iptables', 'iptables-restore'], ['ip6tables', 'ip6tables-restore']] as const) {
      ns.run(restore, ['-w', '--noflush'], `*filter\n:${chain} - [0:0]\nCOMMIT\n`);
      expect(ns.run(cmd, ['-w', '-S', chain])).toBe(`-N ${chain}\n`);
      expect(ns.run(cmd, ['-w', '-S', 'INPUT'])).toContain(jump); // the jump stays, so the chain is live and empty
    }
    expectReach(ns, []);

    ok(ns, blocked.rollback, ['--apply', first]);
    // Counters normalised (see zeroCounters): the probes since the baseline dump counted packets.
    expect(zeroCounters(dump())).toBe(zeroCounters(base));
    expectReach(ns, []);
  }));

  it('rollback keeps rules other tools added after the apply (a fail2ban-style ban)', { timeout: CASE_MS }, inNs(async (ns) => {
    const dump = saves(ns);
    for (const restore of ['iptables-restore', 'ip6tables-restore']) ns.run(restore, ['-w'], IPT_BASELINE);
    await ns.serve([P, Q]);
    const base = dump();
    const out = iptablesBackend.build(block);
    ok(ns, out.apply, ['--apply']);
    ns.run('iptables', ['-w', '-I', 'INPUT', '1', '-s', '192.0.2.1/32', '-j', 'DROP']);
    ok(ns, out.rollback, ['--apply', ns.lastBackup('iptables')]);
    const after = zeroCounters(dump());
    expect(after).not.toContain('PORTOLAN-');
    // The baseline plus the ban, which a restore of the whole saved dump would have wiped out.
    expect(after).toBe(zeroCounters(base).replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.1/32 -j DROP\n'));
    expectReach(ns, []);
  }));

  it('rollback removes a filter table the apply created (a fresh namespace)', { timeout: CASE_MS }, inNs(async (ns) => {
    const dump = saves(ns);
    const nftList = (): string => (has('nft') ? ns.run('nft', ['list', 'ruleset']) : '');
    const before = dump();
    const nftBefore = nftList();
    expect(before).not.toContain('*filter');
    await ns.serve([P, Q]);
    expectDryRunInert(ns, iptablesBackend, dump);
    const out = iptablesBackend.build(block);
    ok(ns, out.apply, ['--apply']);
    expect(dump()).toContain(`:PORTOLAN-TCP-${P} - [0:0]`);
    expectReach(ns, [`127.0.0.1 ${P}`, `::1 ${P}`]);

    const undo = ok(ns, out.rollback, ['--apply', ns.lastBackup('iptables')]);
    const after = dump(); // before the probes below count packets in a legacy table
    if (variant === 'nf_tables') {
      expect(undo).toContain('+ nft delete table ip filter\n');
      expect(undo).toContain('+ nft delete table ip6 filter\n');
      expect(after).toBe(before);
    } else {
      // A legacy table, once the kernel made it in a namespace, lives as long as the namespace:
      // the closest state to "absent" is the table a fresh kernel makes, and it filters nothing.
      expect(undo).toMatch(/^\+ iptables -w -X PORTOLAN-TCP-\d+$/m);
      expect(after).toBe(`${EMPTY_FILTER}--- ip6\n${EMPTY_FILTER}`);
    }
    expect(nftList()).toBe(nftBefore);
    expectReach(ns, []);
  }));

  // Only iptables-nft shares its tables with nft; legacy iptables has no such case.
  if (variant !== 'nf_tables') return;
  it.skipIf(!has('nft'))(`refuses to apply to a native nftables filter table it cannot save${needs(has('nft') ? [] : ['nft'])}`, { timeout: CASE_MS }, inNs((ns) => {
    // iptables-nft would write into this table but saves only a comment for it: no rollback could
    // restore it, so the apply must stop before its first change.
    ns.run('nft', ['-f', '-'], 'table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22 ct state new limit rate 3/minute accept\n\t}\n}\n');
    expect(ns.run('iptables-save', [])).toContain("# Table `filter' is incompatible");
    const before = ns.run('nft', ['list', 'ruleset']);
    expectRefused(ns, iptablesBackend.build(block).apply, 'iptables-save cannot save the filter table', 'iptables');
    expect(ns.run('nft', ['list', 'ruleset'])).toBe(before);
  }));
});
