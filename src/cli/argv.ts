/**
 * nmap spells many options as a dash and several letters (`-sL`, `-oX file`, `-Pn`, `-PS22,80`,
 * `-iL`). commander only knows single-letter short options, so these are rewritten to long options
 * before parsing. One table, so that an option is added in one place.
 */
import { formatByFlag } from '../report/registry.js';

/** nmap-style token → long option. Tokens that take a value keep taking the next argument. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['-sL', '--list-scan'],
  ['-sT', '--connect-scan'],
  ['-sV', '--service-detection'],
  ['-Pn', '--no-ping'],
  ['-P0', '--no-ping'],
  ['-iL', '--input-list'],
  ['-oA', '--output-all'],
]);

/** `-oX`, `-oN`, … : one letter per registered output format (see src/report/registry.ts). */
const OUTPUT_FLAG = /^-o([A-Z])$/;

/** Prefix aliases whose value is glued on (`-PS22,80`); a bare `-PS` takes nmap's default. */
const GLUED: readonly (readonly [string, string])[] = [['-PS', '--ping-ports']];

/** Scan types a connect scanner cannot do; named so the error says so instead of "unknown option". */
const UNSUPPORTED = /^-s[SAFXNMUWYZO]$/;

export class ArgvError extends Error {}

/** Rewrite nmap-style tokens to the long options commander parses. Values after `--` are left alone. */
export function rewriteNmapArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const alias = ALIASES.get(tok);
    if (alias) {
      out.push(alias);
      continue;
    }
    const out1 = OUTPUT_FLAG.exec(tok);
    if (out1?.[1] && formatByFlag(out1[1])) {
      out.push(`--output-${out1[1]}`);
      continue;
    }
    const glued = GLUED.find(([prefix]) => tok.startsWith(prefix));
    if (glued) {
      const value = tok.slice(glued[0].length);
      out.push(value ? `${glued[1]}=${value}` : glued[1]);
      continue;
    }
    if (UNSUPPORTED.test(tok)) {
      throw new ArgvError(`${tok} needs raw packets; portolan does full-handshake connect scans only (-sT, the default)`);
    }
    out.push(tok);
  }
  return out;
}
