import { readdirSync, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { ImportError } from './errors.js';
import { IMPORTERS } from './registry.js';
import { chooseImporter, peekStream, sniffFormat, SNIFF_BYTES } from './sniff.js';
import type { Importer } from './types.js';

function fake(id: string, score: (head: Buffer) => number): Importer {
  return {
    id,
    description: id,
    source: 'nmap',
    sniff: score,
    read: async function* () {
      // Not read in these tests.
    },
  };
}

describe('sniff', () => {
  const a = fake('a', (h) => (h.toString().startsWith('A') ? 5 : 0));
  const b = fake('b', (h) => (h.toString().startsWith('AB') ? 9 : 0));
  const tie = fake('tie', (h) => (h.toString().startsWith('A') ? 5 : 0));
  const broken = fake('broken', () => {
    throw new Error('bug');
  });
  const silly = fake('silly', () => Number.NaN);

  it('picks the highest score, ties to registry order', () => {
    expect(sniffFormat(Buffer.from('AB'), [a, b])?.importer.id).toBe('b');
    expect(sniffFormat(Buffer.from('AX'), [a, tie])?.importer.id).toBe('a');
    expect(sniffFormat(Buffer.from('AX'), [tie, a])?.importer.id).toBe('tie');
  });

  it('treats a throwing or nonsensical importer as "not mine"', () => {
    expect(sniffFormat(Buffer.from('AX'), [broken, silly, a])?.importer.id).toBe('a');
    expect(sniffFormat(Buffer.from('zz'), [broken, silly])).toBeUndefined();
  });

  it('says "unrecognised format" with the list of formats, naming the file', () => {
    expect(() => chooseImporter('x.txt', Buffer.from('zz'), undefined, [a, b])).toThrow(ImportError);
    expect(() => chooseImporter('x.txt', Buffer.from('zz'), undefined, [a, b])).toThrow(/"x\.txt": unrecognised format; use --format \(one of a, b\)/);
    expect(() => chooseImporter('e', Buffer.alloc(0), undefined, [a])).toThrow(/empty file/);
  });

  it('--format forces the importer, and an unknown id is a usage error', () => {
    expect(chooseImporter('x', Buffer.from('zz'), 'b', [a, b]).id).toBe('b');
    expect(() => chooseImporter('x', Buffer.from('zz'), 'nope', [a, b])).toThrow(UsageError);
  });

  it('every registered importer has a unique id and survives hostile heads', () => {
    const ids = IMPORTERS.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const head of [Buffer.alloc(0), Buffer.alloc(SNIFF_BYTES, 0), Buffer.from('\xff\xfe<?xml'), Buffer.alloc(SNIFF_BYTES, 'A')]) {
      expect(() => sniffFormat(head)).not.toThrow();
    }
  });
});

/** Each fixture folder and the importer its files are for (ndjson is masscan-json's -oD). */
function fixtureFolders(): [string, string][] {
  const root = new URL('../../test/fixtures/', import.meta.url);
  const folders: [string, string][] = IMPORTERS.map((i) => [i.id, i.id]);
  folders.push(['masscan-ndjson', 'masscan-json']);
  return folders.filter(([dir]) => readdirSync(root).includes(dir));
}

describe('sniffing with the whole registry', () => {
  const sniffed = (text: string): string | undefined => sniffFormat(Buffer.from(text))?.importer.id;

  it('gives every non-empty fixture to its own importer', () => {
    let checked = 0;
    for (const [dir, id] of fixtureFolders()) {
      const folder = new URL(`../../test/fixtures/${dir}/`, import.meta.url);
      for (const name of readdirSync(folder)) {
        const file = new URL(name, folder);
        if (/\.(sh|py|md)$/.test(name) || !statSync(file).isFile()) continue;
        const head = readFileSync(file).subarray(0, SNIFF_BYTES);
        if (head.length === 0) continue;
        expect(sniffFormat(head)?.importer.id, `${dir}/${name}`).toBe(id);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('tells masscan grepable lines from nmap ones, header comments or not', () => {
    // masscan before the Timestamp field: one six-slash entry per line, the service empty or not.
    const oldMasscan = 'Host: 198.18.0.5 ()\tPorts: 80/open/tcp////\nHost: 198.18.0.5 ()\tPorts: 443/open/tcp////\nHost: 198.18.0.7 ()\tPorts: 53/open/udp////\n';
    const banner = 'Host: 198.18.0.5 ()\tPort: 80\tService: http\tBanner: HTTP/1.0 200 OK\n';
    const header = '# Masscan 1.0.3 scan initiated Mon Feb  3 10:00:00 2014\n# Ports scanned: TCP(2;80-80,443-443) UDP(1;53-53) SCTP(0;) PROTOCOLS(0;)\n';
    const footer = '# Masscan done at Mon Feb  3 10:00:09 2014\n';
    expect(sniffed(oldMasscan)).toBe('masscan-grepable');
    expect(sniffed(oldMasscan + banner)).toBe('masscan-grepable');
    expect(sniffed('Host: 198.18.0.5 ()\tPorts: 80/open/tcp//http//\n')).toBe('masscan-grepable');
    expect(sniffed(header + oldMasscan + footer)).toBe('masscan-grepable');
    expect(sniffed(header + footer)).toBe('masscan-grepable');
    expect(sniffed('Timestamp: 1700000000\tHost: 2001:db8::5 ()\tPorts: 80/open/tcp//http//\n')).toBe('masscan-grepable');

    const nmapHeader = '# Nmap 7.93 scan initiated Sat Nov 21 07:49:08 2026 as: nmap -oG x 192.0.2.1\n';
    const nmapLines = 'Host: 192.0.2.1 ()\tStatus: Up\nHost: 192.0.2.1 ()\tPorts: 80/open/tcp//http///\tIgnored State: closed (999)\n';
    const nmapFooter = '# Nmap done at Sat Nov 21 07:49:08 2026 -- 1 IP address (1 host up) scanned in 0.12 seconds\n';
    expect(sniffed(nmapHeader + nmapLines + nmapFooter)).toBe('nmap-grepable');
    expect(sniffed(nmapLines)).toBe('nmap-grepable');
    expect(sniffed('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http///\n')).toBe('nmap-grepable');
    expect(sniffed('Host: 192.0.2.1 (a.example)\tPorts: 22/open/tcp//ssh//OpenSSH 9.2p1 Debian 2 (protocol 2.0)/\n')).toBe('nmap-grepable');
    // A mix is neither's own output: nmap's lines win, and its parser says what is wrong.
    expect(sniffed(`${oldMasscan}Host: 192.0.2.1 ()\tStatus: Up\n`)).toBe('nmap-grepable');
  });

  it('refuses an empty or blank file naming it, and points at --format for masscan\'s empty output', () => {
    const message = (head: Buffer): string => {
      try {
        chooseImporter('scan.out', head);
      } catch (e) {
        expect(e).toBeInstanceOf(ImportError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const empty = message(Buffer.alloc(0));
    expect(empty).toMatch(/^"scan\.out": empty file: no content to tell its format from; masscan writes an empty file when it found nothing: pass --format masscan-list /);
    expect(empty).toMatch(/any masscan format will do: masscan-xml, masscan-grepable, masscan-json\) to record an empty scan$/);
    expect(message(Buffer.from(' \r\n\t\n'))).toMatch(/^"scan\.out": blank file \(whitespace only\): no content to tell its format from; .* --format masscan-list /);
    // 64 KiB of spaces may go on to hold anything: not called blank.
    expect(message(Buffer.alloc(SNIFF_BYTES, ' '))).toMatch(/^"scan\.out": unrecognised format; use --format/);
    expect(chooseImporter('scan.out', Buffer.alloc(0), 'masscan-list').id).toBe('masscan-list');
  });
});

describe('peekStream', () => {
  it('returns the head and then the whole stream again', async () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 7000) chunks.push(data.subarray(i, i + 7000));
    const { head, rest } = await peekStream(Readable.from(chunks));
    expect(head.length).toBe(SNIFF_BYTES);
    expect(head.equals(data.subarray(0, SNIFF_BYTES))).toBe(true);
    const back: Buffer[] = [];
    for await (const c of rest) back.push(c as Buffer);
    expect(Buffer.concat(back).equals(data)).toBe(true);
  });

  it('handles short and empty streams', async () => {
    const short = await peekStream(Readable.from([Buffer.from('hi')]));
    expect(short.head.toString()).toBe('hi');
    const back: Buffer[] = [];
    for await (const c of short.rest) back.push(c as Buffer);
    expect(Buffer.concat(back).toString()).toBe('hi');
    const empty = await peekStream(Readable.from([]));
    expect(empty.head.length).toBe(0);
    for await (const _ of empty.rest) throw new Error('nothing expected');
  });
});
