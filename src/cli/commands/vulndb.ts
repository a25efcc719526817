/**
 * `portolan vulndb update --nvd FILES --kev FILE --epss FILE`: vulnerability data the user
 * downloaded (NVD CVE API 2.0 pages or yearly files, the CISA KEV catalog, the FIRST EPSS scores;
 * gzip or plain) into the store, for the assessment. No network access: portolan never fetches
 * these itself. `portolan vulndb status` says what the store holds.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { splitCpe23 } from '../../core/cpe.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { escapeTerminal } from '../../core/escape.js';
import { epssRows } from '../../assess/vulndb/epss.js';
import { parseKev } from '../../assess/vulndb/kev.js';
import { MAX_NVD_BYTES, parseNvdPage, type NvdCve } from '../../assess/vulndb/nvd.js';
import type { VulnRecord } from '../../store/vulns.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import type { CliCommand, CliContext } from './index.js';

/** Largest file read, once decompressed (NVD's yearly files are a few hundred MB). */
const MAX_FILE_BYTES = MAX_NVD_BYTES;

/** A file's bytes, gunzipped when it is gzip; errors name the file. */
async function readFeed(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UsageError('E_VULNDB', `${quoteToken(file)}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes, { maxOutputLength: MAX_FILE_BYTES });
    } catch (err) {
      throw new UsageError('E_VULNDB', `${quoteToken(file)}: not a readable gzip file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return bytes;
}

/** The vendor:product pairs a CVE's vulnerable CPEs name (escaped as CPE 2.3 writes them). */
export function vulnerableProducts(cve: NvdCve): { vendor: string; product: string }[] {
  const out = new Map<string, { vendor: string; product: string }>();
  for (const config of cve.configurations) {
    for (const node of config.nodes) {
      for (const m of node.cpeMatch) {
        if (!m.vulnerable) continue;
        const f = splitCpe23(m.criteria);
        const vendor = f?.[1]?.toLowerCase();
        const product = f?.[2]?.toLowerCase();
        if (vendor === undefined || product === undefined || vendor === '*' || product === '*' || vendor === '' || product === '') continue;
        out.set(`${vendor}:${product}`, { vendor, product });
      }
    }
  }
  return [...out.values()];
}

function toRecord(cve: NvdCve): VulnRecord {
  const r: VulnRecord = { id: cve.id, source: 'nvd', description: cve.description, configurations: cve.configurations, products: vulnerableProducts(cve) };
  const published = Date.parse(cve.published);
  if (Number.isFinite(published)) r.published = published;
  const modified = Date.parse(cve.lastModified);
  if (Number.isFinite(modified)) r.lastModified = modified;
  if (cve.cvss !== undefined) r.cvss = { version: cve.cvss.version, score: cve.cvss.score, severity: cve.cvss.severity, vector: cve.cvss.vector };
  return r;
}

function warn(lines: readonly string[]): void {
  for (const line of lines.slice(0, 20)) process.stderr.write(`portolan: warning: ${line}\n`);
  if (lines.length > 20) process.stderr.write(`portolan: warning: ${lines.length - 20} more warnings\n`);
}

interface UpdateOptions {
  db?: string;
  nvd?: string[];
  kev?: string;
  epss?: string;
}

async function update(o: UpdateOptions): Promise<void> {
  if ((o.nvd?.length ?? 0) === 0 && o.kev === undefined && o.epss === undefined) {
    throw new UsageError('E_USAGE', 'vulndb update needs at least one of --nvd FILE…, --kev FILE, --epss FILE (files you downloaded: NVD CVE API 2.0 JSON, CISA KEV JSON, FIRST EPSS CSV)');
  }
  // Every file is read and checked before the store changes, so a bad one changes nothing.
  const pages = [];
  for (const file of o.nvd ?? []) pages.push(parseNvdPage(await readFeed(file), file));
  const kev = o.kev === undefined ? undefined : parseKev(await readFeed(o.kev), o.kev);
  const epssText = o.epss === undefined ? undefined : (await readFeed(o.epss)).toString('utf8');
  const store = await openCliStore(o.db);
  try {
    for (const page of pages) {
      warn(page.warnings);
      const n = await store.importVulns(page.cves.map(toRecord));
      process.stdout.write(`vulndb: ${n} CVEs from ${escapeTerminal(page.file)}${page.rejected > 0 ? ` (${page.rejected} rejected left out)` : ''}${page.malformed > 0 ? ` (${page.malformed} malformed skipped)` : ''}\n`);
    }
    if (kev !== undefined) {
      warn(kev.warnings);
      const n = await store.importKev(kev.entries.map((e) => ({ cve: e.cve, dateAdded: e.dateAdded, ransomware: e.ransomware, name: e.name, ...(e.dueDate !== undefined && { dueDate: e.dueDate }) })));
      process.stdout.write(`vulndb: ${n} known exploited vulnerabilities (KEV catalog ${escapeTerminal(kev.catalogVersion)})\n`);
    }
    if (epssText !== undefined && o.epss !== undefined) {
      const rows = epssRows(epssText.split('\n'), o.epss);
      const n = await store.importEpss(
        (async function* () {
          for (;;) {
            const next = await rows.next();
            if (next.done === true) {
              warn(next.value.warnings);
              return;
            }
            yield { cve: next.value.cve, epss: next.value.epss, ...(next.value.percentile !== undefined && { percentile: next.value.percentile }) };
          }
        })(),
      );
      process.stdout.write(`vulndb: ${n} EPSS scores from ${escapeTerminal(o.epss)}\n`);
    }
  } finally {
    await store.close();
  }
}

function defineVulndb(program: Command, _ctx: CliContext): void {
  const vulndb = program.command('vulndb').description('vulnerability data for the assessment: NVD CVEs, CISA KEV, FIRST EPSS');
  const up = vulndb
    .command('update')
    .description('import vulnerability files you downloaded (gzip or plain) into the store; nothing is fetched')
    .option('--nvd <files...>', 'NVD CVE API 2.0 JSON pages or yearly feed files')
    .option('--kev <file>', 'the CISA known_exploited_vulnerabilities.json')
    .option('--epss <file>', 'the FIRST EPSS scores CSV (epss_scores-YYYY-MM-DD.csv[.gz])');
  addStoreOptions(up, false);
  up.action(async (o: UpdateOptions) => update(o));
  const status = vulndb.command('status').description('how many CVEs, KEV entries and EPSS scores the store holds');
  addStoreOptions(status, false);
  status.action(async (o: { db?: string }) => {
    const store = await openCliStore(o.db);
    try {
      const c = await store.vulnCounts();
      process.stdout.write(`vulndb: ${c.cves} CVEs, ${c.kev} known exploited, ${c.epss} EPSS scores\n`);
    } finally {
      await store.close();
    }
  });
}

export const vulndbCommand: CliCommand = { register: defineVulndb };
