/**
 * Runs real nmap inside the lab's scanner namespace and reads back state + reason per port. Test
 * helper only: the XML comes from our own nmap run, so a few regular expressions are enough here
 * (the product's hardened importer is src/import/nmap-xml.ts).
 */
import type { Lab, LabFamily } from './lab.js';

/** nmap's verdict for one port. */
export interface NmapPort {
  /** open, closed, filtered, or a combined nmap state such as open|filtered. */
  state: string;
  reason: string;
}

/** One nmap run: per-port verdicts, the wall time nmap reports, and the raw XML for failures. */
export interface NmapResult {
  ports: Map<number, NmapPort>;
  elapsedS: number;
  wallMs: number;
  xml: string;
}

function expandPorts(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let p = a; p <= end; p++) out.push(p);
  }
  return out;
}

/** Compress a sorted port list into nmap's `-p` syntax (1,2,3,7 -> 1-3,7). */
export function portSpec(ports: readonly number[]): string {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parse nmap -oX for a single host: listed <port> elements and collapsed <extraports> ranges. */
export function parseNmapXml(xml: string): Map<number, NmapPort> {
  const ports = new Map<number, NmapPort>();
  for (const m of xml.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([^"]+)" reason="([^"]+)"/g)) {
    ports.set(Number(m[1]), { state: m[2] ?? '', reason: m[3] ?? '' });
  }
  for (const block of xml.matchAll(/<extraports state="([^"]+)"[^>]*>([\s\S]*?)<\/extraports>/g)) {
    for (const r of (block[2] ?? '').matchAll(/<extrareasons reason="([^"]+)"[^>]*ports="([^"]+)"/g)) {
      for (const p of expandPorts(r[2] ?? '')) ports.set(p, { state: block[1] ?? '', reason: r[1] ?? '' });
    }
  }
  return ports;
}

/**
 * `nmap -sT -n -Pn --reason -oX -` from the scanner namespace; extra flags go before the target.
 * `ports` null leaves the port choice to `extra` (e.g. --top-ports 1000).
 */
export async function runNmap(
  lab: Lab,
  target: string,
  ports: readonly number[] | string | null,
  family: LabFamily,
  extra: readonly string[] = ['-T4'],
  timeoutMs = 300_000,
): Promise<NmapResult> {
  const portArgs = ports === null ? [] : ['-p', typeof ports === 'string' ? ports : portSpec(ports)];
  const argv = ['nmap', '-sT', '-n', '-Pn', '--reason', '-oX', '-', ...(family === 6 ? ['-6'] : []), ...extra, ...portArgs, target];
  const r = await lab.exec(argv, { timeoutMs });
  if (r.code !== 0) throw new Error(`nmap failed (${r.timedOut ? 'timeout' : `exit ${r.code}`}): ${r.stderr.trim()}`);
  const elapsed = /<finished [^>]*elapsed="([\d.]+)"/.exec(r.stdout);
  return { ports: parseNmapXml(r.stdout), elapsedS: Number(elapsed?.[1] ?? NaN), wallMs: r.durationMs, xml: r.stdout };
}
