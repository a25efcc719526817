/**
 * Scaffolding shared by the remediation tests: the rule specs every firewall backend is built from,
 * the hostile variants of a spec, golden-file and shellcheck checks, a bash runner, and a fake PATH
 * whose tools only leave a marker, so a dry run can prove it executed nothing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../../src/remediate/types.js';
import { HOSTILE } from './hostile-strings.js';
import { shellcheck } from './shellcheck.js';

/** The finding key the firewall specs carry into rule comments. */
export const FIREWALL_KEY = '192.0.2.10/tcp/5432/exposed';

/** Every address-family setting a spec can take. */
export const FAMILIES = [4, 6, 'both'] as const;

/** Both rule modes. */
export const MODES = ['block', 'allowlist'] as const;

/**
 * The spec the golden files are made from: port 5432, udp for IPv6-only block (so both protocols get
 * covered), documentation-range sources, and interface eth0 on the both-families spec when `withIface`.
 */
export function firewallSpec(mode: 'block' | 'allowlist', family: 4 | 6 | 'both', withIface = true): FirewallRuleSpec {
  const allowFrom = family === 4 ? ['10.0.0.0/8', '192.0.2.7'] : family === 6 ? ['2001:db8::/32'] : ['10.0.0.0/8', '2001:db8::/32'];
  return {
    mode,
    protocol: mode === 'block' && family === 6 ? 'udp' : 'tcp',
    port: 5432,
    family,
    findingKey: FIREWALL_KEY,
    ...(mode === 'allowlist' ? { allowFrom } : {}),
    ...(family === 'both' && withIface ? { iface: 'eth0' } : {}),
  };
}

/** One test case: a backend, a mode, a family and the spec built from them. */
export interface FirewallCase<B extends FirewallBackend> {
  backend: B;
  mode: 'block' | 'allowlist';
  family: 4 | 6 | 'both';
  spec: FirewallRuleSpec;
}

/** Every backend × mode × family; `withIface` says which backends get the interface on `both`. */
export function firewallCases<B extends FirewallBackend>(backends: readonly B[], withIface: (b: B) => boolean = () => true): FirewallCase<B>[] {
  return backends.flatMap((backend) =>
    MODES.flatMap((mode) => FAMILIES.map((family) => ({ backend, mode, family, spec: firewallSpec(mode, family, withIface(backend)) }))),
  );
}

/**
 * Asserts that `build` refuses, with a UsageError, a hostile string in every field of `good`, in first
 * and second place of the allowed sources, and every out-of-range or non-integer port.
 */
export function expectHostileSpecsRefused(build: (spec: FirewallRuleSpec) => unknown, good: FirewallRuleSpec): void {
  const fields: ((h: string) => FirewallRuleSpec)[] = [
    (h) => ({ ...good, mode: h as never }),
    (h) => ({ ...good, protocol: h as never }),
    (h) => ({ ...good, port: h as never }),
    (h) => ({ ...good, family: h as never }),
    (h) => ({ ...good, iface: h }),
    (h) => ({ ...good, findingKey: h }),
    (h) => ({ ...good, allowFrom: [h] }),
    (h) => ({ ...good, allowFrom: ['10.0.0.0/8', h] }),
  ];
  for (const field of fields) {
    for (const h of HOSTILE) expect(() => build(field(h))).toThrow(UsageError);
  }
  for (const port of [0, 65536, 22.5, Number.NaN, -22]) expect(() => build({ ...good, port })).toThrow(UsageError);
}

const FIXTURES = fileURLToPath(new URL('../fixtures/remediate/', import.meta.url));

/** Asserts both scripts match `test/fixtures/remediate/<name>.apply.<ext>` and `.rollback.<ext>`. */
export async function expectGoldens(out: GeneratedScript, name: string, ext: 'sh' | 'ps1' = 'sh'): Promise<void> {
  await expect(out.apply).toMatchFileSnapshot(join(FIXTURES, `${name}.apply.${ext}`));
  await expect(out.rollback).toMatchFileSnapshot(join(FIXTURES, `${name}.rollback.${ext}`));
}

/** Asserts shellcheck has nothing to say about either bash script. */
export function expectShellcheckClean(out: GeneratedScript): void {
  for (const script of [out.apply, out.rollback]) {
    const r = shellcheck(script);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }
}

/** What a script run printed and how it ended. */
export interface ScriptResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** How `runBash` runs a script. */
export interface RunOptions {
  /** The whole environment (nothing is inherited); LC_ALL=C is added. */
  env: Record<string, string>;
  /** A command the bash is run under, such as `['ip', 'netns', 'exec', name]`. */
  wrap?: string[];
  /** Milliseconds before the run is killed; 10 s unless given. */
  timeoutMs?: number;
}

/** Runs a generated script with `bash -s`, fed on stdin, with the given arguments. */
export function runBash(script: string, args: readonly string[], opts: RunOptions): ScriptResult {
  const [cmd, ...pre] = [...(opts.wrap ?? []), 'bash', '-s', '--', ...args];
  const r = spawnSync(cmd!, pre, { input: script, encoding: 'utf8', env: { ...opts.env, LC_ALL: 'C' }, timeout: opts.timeoutMs ?? 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temp directory whose `bin` shadows real tools with fakes that record every call. */
export interface FakeToolbox {
  /** The temp directory; scratch space for the test, removed after the suite. */
  dir: string;
  /** Runs a script with the fakes first on PATH; forgets earlier calls first. */
  run: (script: string, args: readonly string[]) => ScriptResult;
  /** Every call a fake received since the last `run`, one line each (empty: nothing ran). */
  ran: () => string;
}

/**
 * Fakes for `tools` (each appends its name and arguments to a marker file) plus an `id` that says
 * uid 1000, so the scripts' root check refuses `--apply` even when the tests run as root. Call it in
 * a describe block: it registers an afterAll that removes the directory.
 */
export function fakeToolbox(prefix: string, tools: readonly string[]): FakeToolbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bin = join(dir, 'bin');
  const marker = join(dir, 'executed');
  mkdirSync(bin);
  const fake = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const tool of tools) fake(tool, `echo "${tool} $*" >> '${marker}'`);
  fake('id', 'echo 1000');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  return {
    dir,
    run: (script, args) => {
      rmSync(marker, { force: true });
      return runBash(script, args, { env });
    },
    ran: () => (existsSync(marker) ? readFileSync(marker, 'utf8') : ''),
  };
}
