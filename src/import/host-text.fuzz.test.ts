/**
 * Fuzz runs for the host-text importers (ss, Linux netstat, Windows netstat): 10 000 mutants each
 * of a real fixture, every one of which must either import or fail with an ImportError — and what
 * imports must still be well-formed listeners.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { importBytes } from '../../test/helpers/import.js';
import type { Observation } from '../core/model.js';
import { canonicalBindAddress } from '../core/bind-scope.js';
import { ImportError } from './errors.js';
import { importer as netstatWindows } from './netstat-windows.js';
import { importer as netstat } from './netstat.js';
import { importer as ss } from './ss.js';
import type { Importer } from './types.js';

const fixture = (path: string): Buffer => readFileSync(new URL(`../../test/fixtures/${path}`, import.meta.url));

/**
 * A small seed: the fixture's first `head` lines plus the lines matching `pick`, so each mutant is
 * cheap while the seed still holds every row shape the format has.
 */
function seed(path: string, head: number, pick: RegExp): Buffer {
  const lines = fixture(path).toString('utf8').split('\n');
  return Buffer.from([...lines.slice(0, head), ...lines.slice(head).filter((l) => pick.test(l))].join('\n'), 'utf8');
}

/** Throws unless every port of `o` is a listener the model accepts. */
function check(o: Observation): void {
  for (const p of o.host.ports) {
    const l = p.listener;
    const ok =
      (p.protocol === 'tcp' || p.protocol === 'udp') &&
      Number.isInteger(p.port) &&
      p.port >= 1 &&
      p.port <= 65535 &&
      p.state === 'open' &&
      l !== undefined &&
      ['loopback', 'all', 'specific'].includes(l.scope) &&
      // Canonical, or (netstat's cut IPv6) hex and colons only: nothing else reaches the store.
      (canonicalBindAddress(l.bindAddress) === l.bindAddress || /^[0-9a-f:.]+$/.test(l.bindAddress)) &&
      (l.pid === undefined || (Number.isInteger(l.pid) && l.pid > 0)) &&
      // eslint-disable-next-line no-control-regex -- checking that control characters were escaped
      (l.process === undefined || (l.process.length <= 256 && !/[\u0000-\u001f\u007f]/.test(l.process)));
    if (!ok) throw new Error(`bad port ${JSON.stringify(p)}`);
  }
}

async function fuzz(importer: Importer, seed: Buffer, rngSeed: number): Promise<{ parsed: number; rejected: number }> {
  let parsed = 0;
  let rejected = 0;
  for (const m of mutants(seed, 10_000, rngSeed)) {
    try {
      const run = await importBytes(importer, m, 'fuzz.txt', 1024);
      run.observations.forEach(check);
      parsed++;
    } catch (e) {
      if (!(e instanceof ImportError)) throw new Error(`mutant ${JSON.stringify(m.toString('latin1'))} threw ${String(e)}`);
      expect(e.message.startsWith('"fuzz.txt"')).toBe(true);
      rejected++;
    }
  }
  return { parsed, rejected };
}

describe('host-text importers under fuzzing', () => {
  it.each([
    // Header; a UDP row bound to a device; `*`; a v4-mapped address; a specific v6; a connected row.
    ['ss', ss, seed('ss/many-all.txt', 1, /:53 |:8003 |:8005 |:443 |ESTAB.*:8080 /), 11],
    // Title and header; v4, v6 and UDP listeners; connected TCP and UDP; the UNIX section.
    ['netstat', netstat, seed('netstat/many-an.txt', 2, /:8001 |:::22 |127\.0\.0\.53|ESTABLISHED|^Active UNIX|^Proto RefCnt|^unix/), 12],
    // Title, header, -b annotations, a zone id.
    ['netstat-windows', netstatWindows, Buffer.concat([seed('netstat-windows/many-anob.txt', 11, /UDP|IKEEXT/), Buffer.from('\n  UDP    [fe80::1%12]:1900  *:*    7720\r\n')]), 13],
  ] as const)('%s: 10 000 mutants each parse or raise ImportError', async (_id, importer, seedText, rngSeed) => {
    const { parsed, rejected } = await fuzz(importer, seedText, rngSeed);
    expect(parsed + rejected).toBe(10_000);
    // Both outcomes occur: the mutants reach the parser's accepting and rejecting paths.
    expect(parsed).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(500);
  });
});
