import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LAB_HOSTS,
  RECORD_DIR,
  cleanupStale,
  expectedState,
  expectationsOf,
  labUnavailableReason,
  nftRuleset,
  samplePorts,
  startLab,
} from './lab.js';
import type { Lab, LabFamily, LabHostName } from './lab.js';
import { runNmap } from './nmap-run.js';

const LAB_MJS = fileURLToPath(new URL('./lab.mjs', import.meta.url));

describe('lab host table', () => {
  it('gives exact answers for rules, defaults and family differences', () => {
    expect(expectedState('mixed', 22)).toMatchObject({ state: 'open', reason: 'syn-ack' });
    expect(expectedState('mixed', 8081, 6)).toMatchObject({ state: 'closed', reason: 'conn-refused', nftRule: 'reject with tcp reset' });
    expect(expectedState('mixed', 1050)).toMatchObject({ state: 'filtered', reason: 'no-response', errno: null });
    expect(expectedState('mixed', 1115, 4)).toMatchObject({ reason: 'admin-prohibited', reasonIfNoIcmpDetail: 'host-unreach', nmapReason: 'host-unreach' });
    expect(expectedState('mixed', 1115, 6)).toMatchObject({ reason: 'admin-prohibited', nmapReason: 'admin-prohibited', errno: 'EACCES', errnoOnlyAfterMs: 1000 });
    expect(expectedState('mixed', 1135, 4)).toMatchObject({ state: 'filtered', reason: 'proto-unreach', errno: 'ENOPROTOOPT' });
    expect(expectedState('mixed', 1135, 6)).toMatchObject({ state: 'closed', reason: 'conn-refused' });
    expect(expectedState('mixed', 1145, 4)).toMatchObject({ state: 'closed', reason: 'port-unreach', reasonIfNoIcmpDetail: 'conn-refused' });
    expect(expectedState('mixed', 40000, 6)).toMatchObject({ state: 'closed', reason: 'conn-refused' });
    expect(expectedState('drop', 22)).toMatchObject({ state: 'open' });
    expect(expectedState('drop', 23, 6)).toMatchObject({ state: 'filtered', reason: 'no-response' });
    expect(expectedState('down', 80)).toMatchObject({ state: 'filtered', reason: 'host-unreach', answerAfterMs: 3000 });
    expect(expectedState(LAB_HOSTS.closed, 65535)).toMatchObject({ state: 'closed', port: 65535, family: 4 });
  });

  it('refuses ports and families that do not exist', () => {
    expect(() => expectedState('mixed', 0)).toThrow(RangeError);
    expect(() => expectedState('mixed', 65536)).toThrow(RangeError);
    expect(() => expectedState('mixed', 80, 5 as LabFamily)).toThrow(RangeError);
    expect(() => expectedState('nope' as LabHostName, 80)).toThrow(/unknown lab host/);
  });

  it('generates each host ruleset from the same table', () => {
    const mixed = nftRuleset('mixed') ?? '';
    expect(mixed).toContain('policy accept;');
    expect(mixed).toContain('tcp dport 1000-1099 drop');
    expect(mixed).toContain('meta nfproto ipv4 tcp dport 1130-1139 reject with icmp type prot-unreachable');
    expect(mixed).not.toContain('meta nfproto ipv6 tcp dport 1130-1139');
    expect(nftRuleset('drop')).toMatch(/policy drop;[\s\S]*nd-neighbor-solicit[\s\S]*tcp dport 22 accept/);
    expect(nftRuleset('closed')).toBeNull();
    expect(nftRuleset('down')).toBeNull();
    expect(nftRuleset('canary')).toMatch(/counter name "from_scanner"[\s\S]*arp daddr ip 198\.18\.0\.14/);
    expect(expectationsOf('mixed').filter((e) => e.family === 6)).toHaveLength(expectationsOf('mixed').length / 2);
  });

  it('samples each range at both ends, plus default ports', () => {
    expect(samplePorts('mixed')).toEqual(expect.arrayContaining([1, 22, 1000, 1099, 1130, 1139, 8081, 2000, 65535]));
    expect(samplePorts('closed')).toEqual([1, 2000, 65535]);
  });
});

/** Root namespace state that the lab must never change (address lifetimes tick, so they are dropped). */
async function rootNetState(): Promise<string> {
  const parts: string[] = [];
  for (const argv of [['addr'], ['link'], ['-4', 'route', 'show', 'table', 'all'], ['-6', 'route', 'show', 'table', 'all'], ['rule'], ['-6', 'rule']]) {
    const r = await runRoot('ip', argv);
    parts.push(r.replace(/^\s*valid_lft.*$/gm, ''));
  }
  return parts.join('\n---\n');
}

function runRoot(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is gone for our purposes.
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (let i = 0; i < Math.ceil(ms / 50); i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Connect from the scanner namespace and return what the listener said: the first chunk when we
 * send nothing (a banner), everything until close when we send a request, '' after `quietMs`.
 */
const TALK = `
const net = require('node:net');
const [host, port, send, quietMs] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let got = '';
s.setTimeout(Number(quietMs), () => s.destroy());
s.on('connect', () => { if (send) s.write(send); });
s.on('data', (d) => { got += d; if (!send || got.length > 200) s.destroy(); });
s.on('error', (e) => { got += '<' + e.code + '>'; });
s.on('close', () => console.log(JSON.stringify(got)));
`;

const why = labUnavailableReason();

describe.skipIf(why !== null)(`lab with real nmap${why !== null ? ` (skipped: ${why})` : ''}`, () => {
  let lab: Lab;
  let rootBefore = '';
  const timings: string[] = [];

  beforeAll(async () => {
    rootBefore = await rootNetState();
    lab = await startLab();
    timings.push(`startLab ${lab.startupMs.toFixed(0)} ms`);
  });

  afterAll(async () => {
    await lab?.teardown();
    console.log(`lab timings:\n  ${timings.join('\n  ')}`);
  });

  it('starts with a silent canary', async () => {
    expect(await lab.readCanary()).toBe(0);
  });

  it('runs the listeners with their banners and replies, over v4 and v6', async () => {
    const talk = async (addr: string, port: number, send = ''): Promise<string> => {
      const r = await lab.exec([process.execPath, '-e', TALK, addr, String(port), send, '400'], { timeoutMs: 10_000 });
      return JSON.parse(r.stdout.trim()) as string;
    };
    const { mixed, drop } = lab.hosts;
    for (const addr of [mixed.v4, mixed.v6]) {
      expect(await talk(addr, 22)).toBe('SSH-2.0-LabSSH_1.0\r\n');
      expect(await talk(addr, 8080)).toBe('LAB-8080 ready\r\n');
      expect(await talk(addr, 80, 'GET / HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.0 200 OK\r\nServer: LabHTTP\/1\.0\r\n/);
      expect(await talk(addr, 443)).toBe('');
      expect(await talk(addr, 8081)).toBe('<ECONNREFUSED>');
    }
    expect(await talk(drop.v6, 22)).toBe('SSH-2.0-LabSSH_1.0\r\n');
  });

  // v6 ICMP answers reach an errno-only scanner (nmap -sT) only at the first SYN retransmission
  // (~1 s, see hosts.mjs), so nmap must wait longer than that to see them.
  const SLOW_V6 = ['-T4', '--initial-rtt-timeout', '1500ms', '--min-rtt-timeout', '1500ms', '--max-retries', '1'];
  const PORTS: Record<'mixed' | 'drop' | 'closed', number[]> = {
    mixed: [...range(1, 1000), 1050, 1099, ...range(1100, 1200), 8080, 8081, 33000, 65535],
    drop: [1, 21, 22, 23, 80, 443, 1000, 65535],
    closed: [1, 22, 80, 443, 1000, 8080, 65535],
  };

  for (const name of ['mixed', 'drop', 'closed'] as const) {
    for (const family of [4, 6] as const) {
      it(`matches nmap -sT state and reason on ${name} over v${family}`, async () => {
        const host = lab.hosts[name];
        const ports = PORTS[name];
        const extra = family === 6 && name === 'mixed' ? SLOW_V6 : ['-T4'];
        const res = await runNmap(lab, family === 4 ? host.v4 : host.v6, ports, family, extra);
        timings.push(`nmap ${name} v${family} (${ports.length} ports): ${res.elapsedS} s`);
        const wrong = ports.flatMap((port) => {
          const want = expectedState(name, port, family);
          const got = res.ports.get(port);
          return got?.state === want.state && got.reason === want.nmapReason
            ? []
            : [`${port}: nmap ${got ? `${got.state}/${got.reason}` : 'nothing'}, table ${want.state}/${want.nmapReason} (${want.cause})`];
        });
        expect(wrong).toEqual([]);
      });
    }
  }

  it('shows the benchmark host as 999 filtered ports and one open (nmap --top-ports 1000)', async () => {
    const res = await runNmap(lab, lab.hosts.drop.v4, null, 4, ['-T4', '--top-ports', '1000']);
    timings.push(`nmap drop v4 --top-ports 1000: ${res.elapsedS} s`);
    expect(res.ports.size).toBe(1000);
    const notFiltered = [...res.ports].filter(([, p]) => p.state !== 'filtered' || p.reason !== 'no-response');
    expect(notFiltered).toEqual([[22, { state: 'open', reason: 'syn-ack' }]]);
  });

  it('reports the absent host as host-unreach once neighbour discovery gives up (~3 s)', async () => {
    const down = lab.hosts.down;
    const wait = ['--initial-rtt-timeout', '4000ms', '--min-rtt-timeout', '4000ms', '--max-rtt-timeout', '5000ms', '--max-retries', '0'];
    const [v4, v6] = await Promise.all([runNmap(lab, down.v4, [22, 80], 4, wait), runNmap(lab, down.v6, [22, 80], 6, wait)]);
    timings.push(`nmap down v4+v6 (2 ports each, parallel): ${v4.elapsedS} s / ${v6.elapsedS} s`);
    for (const res of [v4, v6]) {
      expect(res.ports.get(22)).toEqual({ state: 'filtered', reason: expectedState('down', 22).nmapReason });
      expect(res.elapsedS).toBeGreaterThanOrEqual(2.5);
    }
  });

  it('keeps the canary at 0 while other hosts are scanned, and counts a probe sent to it', async () => {
    expect(await lab.readCanary()).toBe(0);
    const canary = lab.hosts.canary;
    const v4 = await runNmap(lab, canary.v4, [80], 4);
    expect(v4.ports.get(80)).toEqual({ state: 'closed', reason: 'conn-refused' });
    const afterV4 = await lab.readCanary();
    expect(afterV4).toBeGreaterThanOrEqual(2); // ARP request + SYN at least
    await runNmap(lab, canary.v6, [80], 6);
    expect(await lab.readCanary()).toBeGreaterThan(afterV4);
  });

  it('removes the lab of a killed owner and its listeners exit on their own', async () => {
    const script = `import { startLab } from ${JSON.stringify(LAB_MJS)};
const lab = await startLab({ hosts: ['closed', 'drop'] });
console.log(JSON.stringify({ prefix: lab.prefix, pids: lab.listenerPids() }));
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ prefix: string; pids: number[] }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('child lab did not come up in 20 s')), 20_000);
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(JSON.parse(out.split('\n')[0] ?? '') as { prefix: string; pids: number[] });
        }
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before its lab was up`)));
    });
    child.kill('SIGKILL');
    expect(info.pids).toHaveLength(1);
    expect(await waitFor(() => info.pids.every((p) => !isAlive(p)), 5_000)).toBe(true);
    expect(await cleanupStale()).toContain(info.prefix);
    const left = (await runRoot('ip', ['netns', 'list'])).split('\n').filter((l) => l.startsWith(`${info.prefix}-`));
    expect(left).toEqual([]);
    expect(existsSync(join(RECORD_DIR, `${info.prefix}.json`))).toBe(false);
  });

  it('tears down to nothing: no namespace, no listener, no record, root namespace unchanged', async () => {
    const pids = lab.listenerPids();
    expect(pids.length).toBeGreaterThan(0);
    expect(pids.every(isAlive)).toBe(true);
    const t0 = performance.now();
    await lab.teardown();
    timings.push(`teardown ${(performance.now() - t0).toFixed(0)} ms`);
    const left = (await runRoot('ip', ['netns', 'list'])).split('\n').filter((l) => l.startsWith(`${lab.prefix}-`));
    expect(left).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(join(RECORD_DIR, `${lab.prefix}.json`))).toBe(false);
    expect(await rootNetState()).toBe(rootBefore);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
