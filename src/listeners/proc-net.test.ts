import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { importBytes } from '../../test/helpers/import.js';
import { importer as ss } from '../import/ss.js';
import { decodeProcAddress, isListening, parseProcNet, TCP_CLOSE, TCP_LISTEN, type ProcSocket } from './proc-net.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/proc-net/${name}`, import.meta.url), 'latin1');

describe('decodeProcAddress', () => {
  it.each([
    ['0100007F', '127.0.0.1'],
    ['00000000', '0.0.0.0'],
    ['0A0200C0', '192.0.2.10'],
    ['3500007F', '127.0.0.53'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000001000000', '::1'],
    ['0000000000000000FFFF00000100007F', '::ffff:127.0.0.1'],
    ['B80D0120000000000000000010000000', '2001:db8::10'],
    ['000080FE00000000FF2D1C1C8D7C6B5A', 'fe80::1c1c:2dff:5a6b:7c8d'],
  ])('little-endian %s → %s', (hex, want) => {
    expect(decodeProcAddress(hex)).toBe(want);
  });

  it('reads big-endian tables word by word as written', () => {
    expect(decodeProcAddress('7F000001', false)).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000000000000000000000000001', false)).toBe('::1');
    expect(decodeProcAddress('20010DB8000000000000000000000010', false)).toBe('2001:db8::10');
  });

  it.each(['', '0100007', '0100007FF', 'G100007F', '0'.repeat(31), '0'.repeat(33)])('rejects %j', (hex) => {
    expect(decodeProcAddress(hex)).toBeUndefined();
  });
});

describe('parseProcNet on real tables', () => {
  const tables = {
    tcp: parseProcNet(fixture('tcp.txt'), 'tcp', 4),
    tcp6: parseProcNet(fixture('tcp6.txt'), 'tcp', 6),
    udp: parseProcNet(fixture('udp.txt'), 'udp', 4),
    udp6: parseProcNet(fixture('udp6.txt'), 'udp', 6),
  };

  it('reads every row and skips none', () => {
    expect(Object.values(tables).map((t) => [t.sockets.length, t.skipped])).toEqual([
      [12, 0],
      [5, 0],
      [4, 0],
      [2, 0],
    ]);
  });

  it('decodes a listening row field by field', () => {
    const row = tables.tcp.sockets.find((s) => s.port === 80);
    expect(row).toMatchObject({ protocol: 'tcp', family: 4, address: '192.0.2.10', port: 80, remoteAddress: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, uid: 0 });
    expect(row?.inode).toBeGreaterThan(0);
  });

  it('tells listening from connected sockets', () => {
    const tcpConnected = tables.tcp.sockets.filter((s) => !isListening(s));
    expect(tcpConnected.map((s) => `${s.address}:${s.port}>${s.remoteAddress}:${s.remotePort}`).sort()).toEqual([
      '192.0.2.10:44544>192.0.2.10:8080',
      '192.0.2.10:8080>192.0.2.10:44544',
    ]);
    const udpConnected = tables.udp.sockets.filter((s) => !isListening(s));
    expect(udpConnected.map((s) => `${s.address}:${s.port}>${s.remoteAddress}:${s.remotePort}`)).toEqual(['192.0.2.10:40000>192.0.2.99:53']);
    expect(tables.udp.sockets.filter(isListening).every((s) => s.state === TCP_CLOSE)).toBe(true);
  });

  it('lists the same listeners as ss did at the same moment', async () => {
    const run = await importBytes(ss, readFileSync(new URL('../../test/fixtures/ss/many.txt', import.meta.url)));
    // ss writes a dual-stack wildcard as `*` and keeps `%dev`; /proc has `::` and no device.
    const fromSs = new Set(run.observations[0]?.host.ports.map((p) => `${p.protocol} ${(p.listener?.bindAddress ?? '').replace(/%.*$/, '').replace(/^\*$/, '::')} ${p.port}`));
    const fromProc = new Set(
      Object.values(tables)
        .flatMap((t) => t.sockets)
        .filter(isListening)
        .map((s) => `${s.protocol} ${s.address} ${s.port}`),
    );
    expect([...fromProc].sort()).toEqual([...fromSs].sort());
  });

  it('keeps only listeners with listeningOnly', () => {
    const t = parseProcNet(fixture('tcp.txt'), 'tcp', 4, { listeningOnly: true });
    expect(t.sockets.length).toBe(10);
    expect(t.sockets.every(isListening)).toBe(true);
  });
});

describe('parseProcNet on bad text', () => {
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  const good = '   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107        0 10037 1 0000000077da3664 100 0 0 10 0\n';

  it('skips and counts malformed rows', () => {
    const text = `${header}${good}garbage\n   1: 0100007F:ZZZZ 00000000:0000 0A 0 0 0 0 0 1\n${'   2: 0100007F:0050 00000000:0000 0A a b c 0 0 5 '.padEnd(600, 'x')}\n${good}`;
    const t = parseProcNet(text, 'tcp', 4);
    expect(t.sockets.length).toBe(2);
    expect(t.skipped).toBe(3);
  });

  it('counts a row whose address width does not match the family', () => {
    const t = parseProcNet(`${header}${good}`, 'tcp', 6);
    expect(t).toEqual({ sockets: [], skipped: 1 });
  });

  it('reads a table without its header, and CRLF', () => {
    const t = parseProcNet(good.replace('\n', '\r\n'), 'tcp', 4);
    expect(t.sockets.map((s) => [s.address, s.port, s.uid, s.inode])).toEqual([['127.0.0.1', 3306, 107, 10037]]);
  });

  it('stops keeping rows at maxRows and counts the rest', () => {
    const t = parseProcNet(header + good.repeat(5), 'tcp', 4, { maxRows: 3 });
    expect(t.sockets.length).toBe(3);
    expect(t.skipped).toBe(2);
  });

  it('rejects an out-of-range uid', () => {
    const t = parseProcNet(good.replace('   107 ', ' 99999999999 '), 'tcp', 4);
    expect(t).toEqual({ sockets: [], skipped: 1 });
  });

  it('survives 10 000 mutants of each table and returns only well-formed rows', () => {
    const started = Date.now();
    let rows = 0;
    for (const [file, protocol, family] of [
      ['tcp.txt', 'tcp', 4],
      ['tcp6.txt', 'tcp', 6],
      ['udp.txt', 'udp', 4],
      ['udp6.txt', 'udp', 6],
    ] as const) {
      for (const m of mutants(Buffer.from(fixture(file), 'latin1'), 10_000, family * 7 + protocol.length)) {
        const t = parseProcNet(m.toString('latin1'), protocol, family);
        for (const s of t.sockets) {
          rows++;
          checkRow(s, protocol, family);
        }
      }
    }
    expect(rows).toBeGreaterThan(10_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

function checkRow(s: ProcSocket, protocol: string, family: number): void {
  if (
    s.protocol !== protocol ||
    s.family !== family ||
    !Number.isInteger(s.port) ||
    s.port < 0 ||
    s.port > 65535 ||
    !Number.isInteger(s.remotePort) ||
    s.state < 0 ||
    s.state > 255 ||
    !Number.isSafeInteger(s.inode) ||
    s.uid > 0xffffffff ||
    s.address.length === 0 ||
    s.address.includes(':') !== (family === 6)
  ) {
    throw new Error(`bad row ${JSON.stringify(s)}`);
  }
}
