import { describe, expect, it } from 'vitest';
import type { HostResult } from '../core/model.js';
import * as F from '../../test/fixtures/report/hosts.js';
import { hasTool, run } from '../../test/fixtures/report/tools.js';
import { jsonlFormat } from './jsonl.js';
import type { RunInfo } from './types.js';

/** Streams like the CLI: each port through port() before its host line. */
function stream(hosts: HostResult[], info: Partial<RunInfo> = {}, summary = F.summary()): string {
  const w = jsonlFormat.create({ now: () => F.T0 + 500 });
  let out = w.begin(F.plan(), F.info(info));
  for (const h of hosts) {
    for (const p of h.ports) out += w.port?.({ address: h.address, family: h.family }, p) ?? '';
    out += w.host(h);
  }
  return out + w.end(summary);
}

function parse(text: string): Record<string, unknown>[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('JSON Lines', () => {
  it('writes begin, ports, host and end lines', () => {
    const rows = parse(stream([F.v4Host()]));
    expect(rows[0]).toEqual({
      type: 'begin',
      scanner: 'portolan',
      version: '0.1.0',
      args: ['scan', '-p', '1-1000', 'web.example.com', '2001:db8::1', '192.0.2.0/24'],
      targets: ['web.example.com', '2001:db8::1', '192.0.2.0/24'],
      scan_type: 'connect',
      proto: 'tcp',
      ports: '1-1000',
      num_ports: 1000,
      open_only: false,
      ts: F.T0,
    });
    expect(rows.filter((r) => r.type === 'port')).toHaveLength(1000);
    expect(rows.find((r) => r.type === 'port' && r.port === 22)).toEqual({
      type: 'port',
      ip: '192.0.2.10',
      family: 4,
      port: 22,
      proto: 'tcp',
      state: 'open',
      reason: 'syn-ack',
      rtt_ms: 0.212,
      tries: 1,
      service: {
        name: 'ssh',
        product: 'OpenSSH',
        version: '9.6p1 Ubuntu 3ubuntu13',
        extrainfo: 'Ubuntu Linux; protocol 2.0',
        ostype: 'Linux',
        method: 'probed',
        conf: 10,
        cpe: ['cpe:/a:openbsd:openssh:9.6p1', 'cpe:/o:linux:linux_kernel'],
        banner: 'SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13',
      },
      ts: F.T0 + 500,
    });
    expect(rows.at(-2)).toEqual({
      type: 'host',
      ip: '192.0.2.10',
      family: 4,
      hostnames: [
        { name: 'web.example.com', type: 'user' },
        { name: 'edge-1.example.net', type: 'PTR' },
      ],
      status: 'up',
      reason: 'syn-ack',
      timed_out: false,
      ports: { open: 3, closed: 989, filtered: 8 },
      srtt_us: 120,
      rttvar_us: 40,
      timeout_us: 100_000,
      start: F.T0 + 100,
      end: F.T0 + 2150,
      ts: F.T0 + 2150,
    });
    expect(rows.at(-1)).toEqual({ type: 'end', exit: 'success', hosts: { up: 3, down: 1, total: 4 }, elapsed_ms: 2050, probes_sent: 4321, ts: F.T0 + 2050 });
  });

  it('records every port reason, down and timed-out hosts, and an interruption', () => {
    const rows = parse(stream([F.v4Host(), F.v6Host(), F.downHost(), F.timedOutHost()], {}, F.summary({ exit: 'error', message: 'interrupted by SIGINT' })));
    const reasons = new Set(rows.filter((r) => r.type === 'port').map((r) => r.reason));
    expect([...reasons].sort()).toEqual(['admin-prohibited', 'conn-refused', 'error', 'host-unreach', 'net-unreach', 'no-response', 'port-unreach', 'proto-unreach', 'syn-ack']);
    expect(rows.filter((r) => r.type === 'port' && r.family === 6)).toHaveLength(1000);
    expect(rows.find((r) => r.type === 'host' && r.ip === '192.0.2.99')).toMatchObject({ status: 'down', reason: 'no-response' });
    expect(rows.find((r) => r.type === 'host' && r.ip === '192.0.2.50')).toMatchObject({ status: 'up', timed_out: true });
    expect(rows.at(-1)).toMatchObject({ type: 'end', exit: 'error', message: 'interrupted by SIGINT' });
  });

  it('streams only open ports with --open', () => {
    const rows = parse(stream([F.bigHost()], { openOnly: true }));
    expect(rows.filter((r) => r.type === 'port').map((r) => r.port)).toEqual([22]);
    expect(rows.find((r) => r.type === 'host')).toMatchObject({ ports: { open: 1, closed: 65533, filtered: 1 } });
  });

  it('writes ports from host() when they were not streamed', () => {
    const w = jsonlFormat.create();
    w.begin(F.plan(), F.info());
    const rows = parse(w.host(F.v6Host()));
    expect(rows).toHaveLength(1001);
    expect(rows[0]).toMatchObject({ type: 'port', ip: '2001:db8::1', port: 1, ts: F.T0 + 4000 });
    expect(rows.at(-1)?.type).toBe('host');
  });

  it('does not repeat streamed ports in the host line', () => {
    const w = jsonlFormat.create();
    w.begin(F.plan(), F.info());
    const h = F.v4Host();
    const first = h.ports[0];
    if (first === undefined) throw new Error('fixture');
    w.port?.(h, first);
    expect(parse(w.host(h)).map((r) => r.type)).toEqual(['host']);
  });

  it('keeps hostile strings exact and every line inert', () => {
    const text = stream([F.hostileHost()], {}, F.summary({ exit: 'error', message: F.HOSTILE }));
    expect(F.RAW_CONTROL.test(text)).toBe(false);
    const rows = parse(text);
    expect(rows).toHaveLength(6);
    const host = rows.find((r) => r.type === 'host') as { hostnames: { name: string }[] };
    // Lone surrogates cannot survive UTF-8 (nor jq); everything else round-trips exactly.
    const wellFormed = F.HOSTILE.replace(/[\ud800-\udfff]/gu, '\ufffd');
    expect(wellFormed).not.toBe(F.HOSTILE);
    expect(host.hostnames[0]?.name).toBe(wellFormed);
    expect(host.hostnames[1]?.name).toBe(F.HUGE);
    expect(rows.at(-1)?.message).toBe(wellFormed);
  });

  it.skipIf(!hasTool('jq'))('pipes through jq', () => {
    const text = stream([F.v4Host(), F.hostileHost()], {}, F.summary({ exit: 'error', message: F.HOSTILE }));
    const r = run('jq', ['-c', 'select(.type == "port" and .state == "open") | [.ip, .port]'], text);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('["192.0.2.10",22]\n["192.0.2.10",80]\n["192.0.2.10",443]\n["198.51.100.7",80]\n');
  });
});
