/**
 * The scanner against the namespace lab: exact state and reason of every port of every lab host,
 * IPv4 and IPv6, host discovery, and the scope canary. All traffic stays inside namespaces this
 * test creates (198.18.0.0/24, 2001:2::/64).
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines } from './helpers/cli.js';
import { expectedState, labUnavailableReason, samplePorts, startLab, type Lab, type LabFamily, type LabHostName } from './lab/lab.js';

const skip = labUnavailableReason();
const dir = mkdtempSync(join(tmpdir(), 'portolan-lab-'));
let lab: Lab;

beforeAll(async () => {
  if (!skip) lab = await startLab();
});
afterAll(async () => {
  await lab?.teardown();
});

async function scanLab(args: string[], env: Record<string, string> = {}) {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await lab.exec(['env', ...envArgs, process.execPath, BIN, 'scan', '--no-store', '--ports-only', ...args, '-oJ', '-'], { timeoutMs: 120_000 });
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code).toBe(0);
  return jsonLines(r.stdout);
}

function mismatches(rows: Record<string, unknown>[], host: LabHostName, family: LabFamily, errnoOnly: boolean): string[] {
  const bad: string[] = [];
  for (const r of rows.filter((x) => x.type === 'port')) {
    const want = expectedState(host, Number(r.port), family);
    const reason = errnoOnly ? (want.reasonIfNoIcmpDetail ?? want.reason) : want.reason;
    if (r.state !== want.state || r.reason !== reason) bad.push(`${host} v${family} ${String(r.port)}: got ${String(r.state)}/${String(r.reason)}, want ${want.state}/${reason} (${want.cause})`);
  }
  return bad;
}

describe.skipIf(skip)('lab: every port of every host, native socket layer', () => {
  for (const host of ['mixed', 'drop', 'closed'] as const) {
    for (const family of [4, 6] as const) {
      it(`${host} over IPv${family}: all 65535 ports`, async () => {
        const address = family === 4 ? lab.hosts[host].v4 : lab.hosts[host].v6;
        const rows = await scanLab(['-Pn', '-T4', '-p-', address]);
        expect(rows.filter((x) => x.type === 'port')).toHaveLength(65535);
        expect(mismatches(rows, host, family, false).slice(0, 10)).toEqual([]);
      });
    }
  }
});

describe.skipIf(skip)('lab: the pure-JS socket layer', () => {
  it('mixed host, IPv4: errno-only reasons', async () => {
    const rows = await scanLab(['-Pn', '-T4', '-p', samplePorts('mixed').join(','), lab.hosts.mixed.v4], { PORTOLAN_SOCKET: 'js' });
    expect(mismatches(rows, 'mixed', 4, true)).toEqual([]);
  });
  it('mixed host, IPv6: ICMPv6 errors arrive with the first SYN retransmission, so wait for it', async () => {
    const rows = await scanLab(['-Pn', '--min-rtt-timeout', '2s', '-p', samplePorts('mixed').join(','), lab.hosts.mixed.v6], { PORTOLAN_SOCKET: 'js' });
    expect(mismatches(rows, 'mixed', 6, true)).toEqual([]);
  });
});

describe.skipIf(skip)('lab: host discovery', () => {
  it('up by SYN-ACK or RST, down when nothing answers; -Pn scans anyway', async () => {
    const { drop, closed, down } = lab.hosts;
    const rows = await scanLab(['-T4', '-p', '22,23', drop.v4, closed.v4, down.v4]);
    const hosts = new Map(rows.filter((x) => x.type === 'host').map((x) => [String(x.ip), x]));
    expect(hosts.get(drop.v4)).toMatchObject({ status: 'up', reason: 'syn-ack' });
    expect(hosts.get(closed.v4)).toMatchObject({ status: 'up', reason: 'conn-refused' });
    expect(hosts.get(down.v4)).toMatchObject({ status: 'down' });
    expect(rows.filter((x) => x.type === 'port' && x.ip === down.v4)).toHaveLength(0);
  });
});

describe.skipIf(skip)('lab: scope', () => {
  it('an out-of-scope target gets not one packet (nftables counter stays 0)', async () => {
    expect(await lab.readCanary()).toBe(0);
    const scope = join(dir, 'scope.txt');
    writeFileSync(scope, `${lab.hosts.mixed.v4}\n${lab.hosts.closed.v4}/32\n${lab.hosts.mixed.v6}\n`);
    const { canary, mixed } = lab.hosts;
    for (const targets of [[canary.v4], [mixed.v4, canary.v4], ['198.18.0.0/24'], [canary.v6]]) {
      const r = await lab.exec([process.execPath, BIN, 'scan', '--no-store', '--scope', scope, '-Pn', '-p', '1-1000', ...targets]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/outside the scope/);
    }
    // In scope: runs, and the canary still saw nothing.
    const ok = await lab.exec([process.execPath, BIN, 'scan', '--no-store', '--scope', scope, '-Pn', '-p', '22', mixed.v4]);
    expect(ok.code).toBe(0);
    expect(await lab.readCanary()).toBe(0);
    // The counter does count: one probe at the canary shows up.
    await lab.exec([process.execPath, BIN, 'scan', '--no-store', '-Pn', '-p', '22', canary.v4]);
    expect(await lab.readCanary()).toBeGreaterThan(0);
  });
});
