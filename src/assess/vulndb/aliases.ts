/**
 * The same product under other CPE vendor names. nmap and older NVD entries name some products
 * differently from current NVD data (nginx: `igor_sysoev` and `nginx` vs `f5`; vsftpd: `beasts` vs
 * `vsftpd_project`), and matching needs vendor and product to agree exactly. A service's CPE is
 * matched under each of its names.
 */
import { splitCpe23 } from '../../core/cpe.js';

/** Groups of vendor:product names for one product (lower case, as CPE 2.3 fields are written). */
const SAME_PRODUCT: readonly (readonly string[])[] = [
  ['f5:nginx', 'igor_sysoev:nginx', 'nginx:nginx'],
  ['vsftpd_project:vsftpd', 'beasts:vsftpd'],
  ['oracle:mysql', 'mysql:mysql'],
  ['apache:http_server', 'apache:httpd'],
  ['proftpd:proftpd', 'proftpd_project:proftpd'],
  ['samba:samba', 'samba_project:samba'],
  ['redis:redis', 'redislabs:redis', 'pivotal_software:redis'],
];

const BY_NAME = new Map<string, readonly string[]>();
for (const group of SAME_PRODUCT) for (const name of group) BY_NAME.set(name, group);

/** The CPE 2.3 name under every vendor:product alias of its product (itself first). */
export function cpeAliases(cpe: string): string[] {
  const f = splitCpe23(cpe);
  if (f === undefined || f.length < 3) return [cpe];
  const group = BY_NAME.get(`${f[1]!.toLowerCase()}:${f[2]!.toLowerCase()}`);
  if (group === undefined) return [cpe];
  const out = [cpe];
  for (const name of group) {
    const [vendor, product] = name.split(':') as [string, string];
    if (vendor === f[1]!.toLowerCase() && product === f[2]!.toLowerCase()) continue;
    out.push(`cpe:2.3:${[f[0], vendor, product, ...f.slice(3)].join(':')}`);
  }
  return out;
}
