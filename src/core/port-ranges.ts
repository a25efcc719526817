/**
 * Port lists as compact ranges, the way nmap writes them: `1-3,5,7-9`. The store keeps a scan's
 * closed and filtered ports of a host this way, one row per state and reason, since they are
 * most of a scan and carry nothing but their number.
 */

/** `1-3,5` from any port numbers (sorted and deduplicated here). */
export function formatPortRanges(ports: Iterable<number>): string {
  const sorted = Int32Array.from(ports).sort();
  let out = '';
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i]!;
    let end = start;
    while (i < sorted.length && sorted[i]! <= end + 1) end = Math.max(end, sorted[i++]!);
    if (out !== '') out += ',';
    out += end === start ? String(start) : `${start}-${end}`;
  }
  return out;
}

const RANGE = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** The ports of a range list, ascending; throws RangeError on anything that is not one. */
export function parsePortRanges(text: string): number[] {
  if (text === '') return [];
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = RANGE.exec(part);
    if (m === null) throw new RangeError(`bad port range ${JSON.stringify(part.slice(0, 20))}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (end > 65535 || end < start) throw new RangeError(`bad port range ${JSON.stringify(part)}`);
    for (let p = start; p <= end; p++) out.push(p);
  }
  return out;
}
