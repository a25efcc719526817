/**
 * The masscan, naabu, RustScan and amap importers against each other's files: every fixture must
 * be claimed by its own importer, by a margin, however similar the formats look (masscan JSON vs
 * naabu JSON lines, masscan list vs RustScan lines, naabu's host:port vs amap's colons).
 */
import { readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/import-checks.js';
import { importer as amap } from './amap.js';
import { importer as masscanGrepable } from './masscan-grepable.js';
import { importer as masscanJson } from './masscan-json.js';
import { importer as masscanList } from './masscan-list.js';
import { importer as masscanXml } from './masscan-xml.js';
import { importer as naabu } from './naabu.js';
import { importer as rustscan } from './rustscan.js';
import type { Importer } from './types.js';

const MINE: readonly Importer[] = [masscanXml, masscanGrepable, masscanJson, masscanList, naabu, rustscan, amap];

const OWNER: Readonly<Record<string, Importer>> = {
  'masscan-xml': masscanXml,
  'masscan-json': masscanJson,
  'masscan-ndjson': masscanJson,
  'masscan-list': masscanList,
  'masscan-grepable': masscanGrepable,
  naabu,
  rustscan,
  amap,
};

describe('sniffing the scanner formats against each other', () => {
  for (const [dir, owner] of Object.entries(OWNER)) {
    it(`every non-empty ${dir} fixture goes to ${owner.id}`, () => {
      const names = readdirSync(new URL(`../../test/fixtures/${dir}`, import.meta.url));
      let checked = 0;
      for (const name of names) {
        const head = fixture(`${dir}/${name}`);
        if (head.length === 0 || !statSync(new URL(`../../test/fixtures/${dir}/${name}`, import.meta.url)).isFile()) continue;
        const scores = MINE.map((i) => [i.id, i.sniff(head)] as const).sort((a, b) => b[1] - a[1]);
        expect(scores[0]![0], `${dir}/${name}: ${JSON.stringify(scores)}`).toBe(owner.id);
        expect(scores[0]![1] > scores[1]![1], `${dir}/${name}: tie ${JSON.stringify(scores)}`).toBe(true);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it('leaves nmap files alone', () => {
    for (const f of ['nmap-xml/many.xml', 'nmap-grepable/many.gnmap']) {
      for (const i of MINE) expect(i.sniff(fixture(f)), `${i.id} on ${f}`).toBe(0);
    }
  });
});
