/**
 * Every import format, one line each. Order matters only for ties: when two importers give a
 * file the same sniff score, the earlier one wins, so the more specific formats come first (nmap's
 * XML before masscan's, which imitates it; Nessus; the line formats whose headers say who wrote
 * them; then the bare line formats whose shape alone identifies them).
 */
import { importer as nmapXml } from './nmap-xml.js';
import { importer as masscanXml } from './masscan-xml.js';
import { importer as nessus } from './nessus.js';
import { importer as nmapGrepable } from './nmap-grepable.js';
import { importer as masscanGrepable } from './masscan-grepable.js';
import { importer as masscanJson } from './masscan-json.js';
import { importer as masscanList } from './masscan-list.js';
import { importer as naabu } from './naabu.js';
import { importer as rustscan } from './rustscan.js';
import { importer as amap } from './amap.js';
import { importer as ss } from './ss.js';
import { importer as netstat } from './netstat.js';
import { importer as netstatWindows } from './netstat-windows.js';
import type { Importer } from './types.js';

/** All importers, in sniff-priority order. */
export const IMPORTERS: readonly Importer[] = [
  nmapXml,
  masscanXml,
  nessus,
  nmapGrepable,
  masscanGrepable,
  masscanJson,
  masscanList,
  naabu,
  rustscan,
  amap,
  ss,
  netstat,
  netstatWindows,
];

/** The importer with this `--format` id, or undefined. */
export function findImporter(id: string): Importer | undefined {
  return IMPORTERS.find((i) => i.id === id);
}

/** Every `--format` id, for help text and error messages. */
export function importerIds(): string[] {
  return IMPORTERS.map((i) => i.id);
}
