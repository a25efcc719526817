/**
 * A small built-in vulnerability dataset for the most exposed services, so CVE matching works
 * offline before any `vulndb update`. Facts only, each checked against public data:
 * - configurations: the NVD CVE API 2.0 record (fkie-cad/nvd-json-data-feeds mirror), copied as NVD
 *   models them, minus `matchCriteriaId`; only the configurations that name a product below are
 *   kept (NVD's extra ones list vendor appliances and OS releases that ship the code);
 * - cvss: NVD's primary metric of the highest CVSS version in that record (noted where it is not);
 * - kev: `cisaExploitAdd` in the NVD record (NVD adds it when CISA lists the CVE); for "no" on
 *   records older than 2025-02-05, the CISA KEV catalogue (cisagov/kev-data) additions from
 *   2023-06-29 to 2025-02-05 were checked too. KEV grows: `vulndb update --kev` is authoritative;
 * - fixedIn: Debian security advisories (data/DSA/list of the Debian security tracker); source
 *   package names, newest release first.
 * Summaries are our own words. CVEs whose NVD record had no analysed configuration in the stored
 * data were left out rather than guessed (CVE-2023-48795 Terrapin, CVE-2023-42115, CVE-2024-10979).
 */

import { splitCpe23 } from '../../core/cpe.js';
import type { Configuration, CpeMatch } from './types.js';

export type CvssSeverity = 'low' | 'medium' | 'high' | 'critical';

/** A CVSS base score as NVD publishes it. v2 has no "critical": 7.0–10.0 is "high". */
export interface BuiltinCvss {
  version: '3.1' | '3.0' | '2.0';
  score: number;
  severity: CvssSeverity;
  vector: string;
}

/** A distribution's first fixed package version; `release` is the Debian codename it applies to. */
export interface BuiltinFix {
  distro: string;
  package: string;
  version: string;
  release?: string;
}

/** One CVE of the built-in dataset. */
export interface BuiltinVuln {
  id: string;
  cvss: BuiltinCvss;
  /** Listed in CISA's Known Exploited Vulnerabilities catalogue. */
  kev: boolean;
  /** One line, our own words. */
  summary: string;
  /** NVD configurations (CPE 2.3 criteria, version bounds), as NVD models the CVE. */
  configurations: Configuration[];
  fixedIn?: BuiltinFix[];
}

type Bounds = Pick<CpeMatch, 'versionStartIncluding' | 'versionStartExcluding' | 'versionEndIncluding' | 'versionEndExcluding'>;

/** `cpe:2.3:a:vendor:product:version:update:*:*:*:*:*:*`, the shape of every criteria here. */
const app = (vendor: string, product: string, version = '*', update = '*'): string => `cpe:2.3:a:${vendor}:${product}:${version}:${update}:*:*:*:*:*:*`;
const os = (vendor: string, product: string, version: string, swEdition = '*'): string => `cpe:2.3:o:${vendor}:${product}:${version}:*:*:*:${swEdition}:*:*:*`;
const vuln = (criteria: string, bounds: Bounds = {}): CpeMatch => ({ vulnerable: true, criteria, ...bounds });
const platform = (criteria: string): CpeMatch => ({ vulnerable: false, criteria });
/** The vulnerable entries for a list of exact versions, as NVD enumerates them for older CVEs. */
const each = (vendor: string, product: string, versions: string[]): CpeMatch[] => versions.map((v) => vuln(app(vendor, product, v)));
const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
/** A single-node configuration (NVD omits the configuration operator then). */
const or = (...cpeMatch: CpeMatch[]): Configuration => ({ nodes: [{ operator: 'OR', negate: false, cpeMatch }] });
/** `[vulnerable] AND [platform]`: each argument is one OR node. */
const and = (...nodes: CpeMatch[][]): Configuration => ({ operator: 'AND', nodes: nodes.map((cpeMatch) => ({ operator: 'OR', negate: false, cpeMatch })) });
const v31 = (score: number, severity: CvssSeverity, vector: string): BuiltinCvss => ({ version: '3.1', score, severity, vector: `CVSS:3.1/${vector}` });
const v30 = (score: number, severity: CvssSeverity, vector: string): BuiltinCvss => ({ version: '3.0', score, severity, vector: `CVSS:3.0/${vector}` });
const v2 = (score: number, severity: CvssSeverity, vector: string): BuiltinCvss => ({ version: '2.0', score, severity, vector });
const deb = (pkg: string, version: string, release: string): BuiltinFix => ({ distro: 'debian', package: pkg, version, release });

const NET_RCE = 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const OPENSSH = app('openbsd', 'openssh');
const HTTPD = app('apache', 'http_server');
const NGINX = app('f5', 'nginx');
const EXIM = app('exim', 'exim');
const OPENSSL = app('openssl', 'openssl');
const MARIADB = app('mariadb', 'mariadb');
const REDIS = app('redis', 'redis');
const SAMBA = app('samba', 'samba');

const DATA: BuiltinVuln[] = [
  // ---- OpenSSH
  // NVD CVE-2024-6387 (record of 2024-07-09); KEV: no (KEV catalogue checked to 2025-02-05)
  { id: 'CVE-2024-6387', cvss: v31(8.1, 'high', 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'regreSSHion: a signal-handler race in sshd (regression of CVE-2006-5051) may let an unauthenticated client run code',
    configurations: [or(vuln(OPENSSH, { versionEndExcluding: '4.4' }), vuln(OPENSSH, { versionStartIncluding: '8.6', versionEndExcluding: '9.8' }),
      vuln(app('openbsd', 'openssh', '4.4', '-')), vuln(app('openbsd', 'openssh', '8.5', 'p1')), vuln(app('openbsd', 'openssh', '9.8', '-')))] },
  // NVD CVE-2023-38408 (record of 2024-04-04); KEV: no (KEV catalogue checked to 2025-02-05)
  { id: 'CVE-2023-38408', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'ssh-agent PKCS#11 loading lets a host the agent is forwarded to run code on the client',
    configurations: [or(vuln(OPENSSH, { versionEndExcluding: '9.3' }), vuln(app('openbsd', 'openssh', '9.3', '-')), vuln(app('openbsd', 'openssh', '9.3', 'p1')))] },
  // NVD CVE-2018-15473 (record of 2024-11-21); KEV: no (checked to 2025-02-05); Debian DSA-4280
  { id: 'CVE-2018-15473', cvss: v31(5.3, 'medium', 'AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N'), kev: false,
    summary: 'sshd answers differently for unknown users, so valid account names can be enumerated',
    configurations: [or(vuln(OPENSSH, { versionEndIncluding: '7.7' }))], fixedIn: [deb('openssh', '1:7.4p1-10+deb9u4', 'stretch')] },

  // ---- Apache HTTP Server
  // NVD CVE-2021-41773 (record of 2024-07-26); KEV: yes (added 2021-11-03)
  { id: 'CVE-2021-41773', cvss: v31(7.5, 'high', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'), kev: true,
    summary: 'httpd 2.4.49 path normalisation flaw allows path traversal, and code execution where CGI is enabled',
    configurations: [or(vuln(app('apache', 'http_server', '2.4.49')))] },
  // NVD CVE-2021-42013 (record of 2024-07-26); KEV: yes (added 2021-11-03)
  { id: 'CVE-2021-42013', cvss: v31(9.8, 'critical', NET_RCE), kev: true,
    summary: 'incomplete fix of CVE-2021-41773 in httpd 2.4.50: path traversal and remote code execution',
    configurations: [or(vuln(app('apache', 'http_server', '2.4.49')), vuln(app('apache', 'http_server', '2.4.50')))] },
  // NVD CVE-2021-40438 (record of 2025-10-21); KEV: yes (added 2021-12-01); Debian DSA-4982
  { id: 'CVE-2021-40438', cvss: v31(9.0, 'critical', 'AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H'), kev: true,
    summary: 'mod_proxy server-side request forgery: a crafted URI makes httpd forward to a host the client picks',
    configurations: [or(vuln(HTTPD, { versionEndIncluding: '2.4.48' }))],
    fixedIn: [deb('apache2', '2.4.51-1~deb11u1', 'bullseye'), deb('apache2', '2.4.38-3+deb10u6', 'buster')] },
  // NVD CVE-2021-44790 (record of 2025-05-01); KEV: no (per that record); Debian DSA-5035
  { id: 'CVE-2021-44790', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'mod_lua multipart parser buffer overflow triggered by a crafted request body',
    configurations: [or(vuln(HTTPD, { versionEndExcluding: '2.4.52' }))],
    fixedIn: [deb('apache2', '2.4.52-1~deb11u2', 'bullseye'), deb('apache2', '2.4.38-3+deb10u7', 'buster')] },
  // NVD CVE-2023-25690 (record of 2024-01-02); KEV: no (checked to 2025-02-05); Debian DSA-5376
  { id: 'CVE-2023-25690', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'mod_proxy with RewriteRule/ProxyPassMatch substitution allows HTTP request smuggling',
    configurations: [or(vuln(HTTPD, { versionStartIncluding: '2.4.0', versionEndIncluding: '2.4.55' }))],
    fixedIn: [deb('apache2', '2.4.56-1~deb11u1', 'bullseye')] },
  // NVD CVE-2019-0211 (record of 2025-01-23); KEV: yes (added 2021-11-03)
  { id: 'CVE-2019-0211', cvss: v31(7.8, 'high', 'AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), kev: true,
    summary: 'code in an httpd child process (e.g. a script) can gain root by corrupting the scoreboard',
    configurations: [or(vuln(HTTPD, { versionStartIncluding: '2.4.17', versionEndIncluding: '2.4.38' }))] },
  // NVD CVE-2017-15715 (record of 2026-06-17; CVSS 3.0 is NVD's primary); KEV: no (per that record); Debian DSA-4164
  { id: 'CVE-2017-15715', cvss: v30(8.1, 'high', 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: '<FilesMatch> "$" also matches a trailing newline, so upload filters on file names can be bypassed',
    configurations: [or(vuln(HTTPD, { versionStartIncluding: '2.4.0', versionEndIncluding: '2.4.29' }))],
    fixedIn: [deb('apache2', '2.4.25-3+deb9u4', 'stretch'), deb('apache2', '2.4.10-10+deb8u12', 'jessie')] },

  // ---- nginx (NVD now names it f5:nginx)
  // NVD CVE-2021-23017 (record of 2024-11-21); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2021-23017', cvss: v31(7.7, 'high', 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:L'), kev: false,
    summary: 'resolver off-by-one: a forged DNS reply can overwrite a byte in a worker process',
    configurations: [or(vuln(NGINX, { versionStartIncluding: '0.6.18', versionEndExcluding: '1.20.1' }))] },
  // NVD CVE-2017-7529 (record of 2026-05-13); KEV: no (per that record)
  { id: 'CVE-2017-7529', cvss: v31(7.5, 'high', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'), kev: false,
    summary: 'range filter integer overflow leaks potentially sensitive memory through a crafted request',
    configurations: [or(vuln(NGINX, { versionStartIncluding: '0.5.6', versionEndIncluding: '1.12.1' }), vuln(NGINX, { versionStartIncluding: '1.13.0', versionEndIncluding: '1.13.2' }))] },
  // NVD CVE-2013-2028 (record of 2026-06-16; NVD scores it with CVSS 2.0 only); KEV: no (per that record)
  { id: 'CVE-2013-2028', cvss: v2(7.5, 'high', 'AV:N/AC:L/Au:N/C:P/I:P/A:P'), kev: false,
    summary: 'chunked transfer-encoding parser stack overflow: crash or code execution from one request',
    configurations: [or(vuln(NGINX, { versionStartIncluding: '1.3.9', versionEndIncluding: '1.4.0' }))] },

  // ---- vsftpd (NVD vendor vsftpd_project)
  // NVD CVE-2011-2523 (record of 2026-06-16); KEV: no (per that record)
  { id: 'CVE-2011-2523', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'the vsftpd 2.3.4 tarball downloaded 2011-06-30..07-03 carries a backdoor that opens a shell on port 6200/tcp',
    configurations: [or(vuln(app('vsftpd_project', 'vsftpd', '2.3.4')))] },

  // ---- ProFTPD
  // NVD CVE-2015-3306 (record of 2026-10-08; CVSS 3.1 from CISA-ADP, NVD's own is 2.0 10.0); KEV: yes (added 2026-10-08)
  { id: 'CVE-2015-3306', cvss: v31(10.0, 'critical', 'AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), kev: true,
    summary: 'mod_copy SITE CPFR/CPTO commands let remote attackers read and write arbitrary files',
    configurations: [or(vuln(app('proftpd', 'proftpd', '1.3.5')))] },
  // NVD CVE-2019-12815 (record of 2026-06-17); KEV: no (per that record); Debian DSA-4491
  { id: 'CVE-2019-12815', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'mod_copy still copies files for unauthenticated clients (related to CVE-2015-3306)',
    configurations: [or(vuln(app('proftpd', 'proftpd'), { versionEndIncluding: '1.3.5b' }))],
    fixedIn: [deb('proftpd-dfsg', '1.3.6-4+deb10u1', 'buster'), deb('proftpd-dfsg', '1.3.5b-4+deb9u1', 'stretch')] },

  // ---- Exim
  // NVD CVE-2019-10149 (record of 2025-10-21); KEV: yes (added 2022-01-10); Debian DSA-4456
  { id: 'CVE-2019-10149', cvss: v31(9.8, 'critical', NET_RCE), kev: true,
    summary: 'improper validation of the recipient address in deliver_message() lets remote senders run commands',
    configurations: [or(vuln(EXIM, { versionStartIncluding: '4.87', versionEndIncluding: '4.91' }))],
    fixedIn: [deb('exim4', '4.89-2+deb9u4', 'stretch')] },
  // NVD CVE-2019-15846 (record of 2026-06-17; CVSS 3.0 is NVD's primary); KEV: no (per that record); Debian DSA-4517
  { id: 'CVE-2019-15846', cvss: v30(9.8, 'critical', NET_RCE), kev: false,
    summary: 'a trailing backslash in attacker input lets remote attackers run code as root',
    configurations: [or(vuln(EXIM, { versionEndExcluding: '4.92.2' }))],
    fixedIn: [deb('exim4', '4.92-8+deb10u2', 'buster'), deb('exim4', '4.89-2+deb9u6', 'stretch')] },
  // NVD CVE-2020-28017 (record of 2026-06-17; NVD bounds it < 4.94.1 though the text says 4.94.2); KEV: no (per that record)
  { id: 'CVE-2020-28017', cvss: v31(9.8, 'critical', NET_RCE), kev: false,
    summary: 'integer overflow to buffer overflow in receive_add_recipient via a message with a huge recipient count',
    configurations: [or(vuln(EXIM, { versionEndExcluding: '4.94.1' }))] },

  // ---- Postfix
  // NVD CVE-2023-51764 (record of 2024-01-11); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2023-51764', cvss: v31(5.3, 'medium', 'AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N'), kev: false,
    summary: 'SMTP smuggling: <LF>.<CR><LF> lets senders inject mail that passes SPF as this server',
    configurations: [or(vuln(app('postfix', 'postfix'), { versionEndExcluding: '3.5.23' }), vuln(app('postfix', 'postfix'), { versionStartIncluding: '3.6.0', versionEndExcluding: '3.6.13' }),
      vuln(app('postfix', 'postfix'), { versionStartIncluding: '3.7.0', versionEndExcluding: '3.7.9' }), vuln(app('postfix', 'postfix'), { versionStartIncluding: '3.8.0', versionEndExcluding: '3.8.4' }))] },

  // ---- OpenSSL
  // NVD CVE-2014-0160 (record of 2025-10-21); KEV: yes (added 2022-05-04)
  { id: 'CVE-2014-0160', cvss: v31(7.5, 'high', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'), kev: true,
    summary: 'Heartbleed: TLS heartbeat over-read leaks server memory, including private keys',
    configurations: [or(vuln(OPENSSL, { versionStartIncluding: '1.0.1', versionEndExcluding: '1.0.1g' }))] },
  // NVD CVE-2022-3602 (record of 2026-06-17); KEV: no (per that record)
  { id: 'CVE-2022-3602', cvss: v31(7.5, 'high', 'AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), kev: false,
    summary: 'X.509 name-constraint check overflows four stack bytes on a crafted e-mail address',
    configurations: [or(vuln(OPENSSL, { versionStartIncluding: '3.0.0', versionEndExcluding: '3.0.7' }))] },
  // NVD CVE-2022-0778 (record of 2024-06-21; NVD also lists MariaDB); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2022-0778', cvss: v31(7.5, 'high', 'AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), kev: false,
    summary: 'BN_mod_sqrt() loops forever on a crafted certificate, a denial of service for TLS peers',
    configurations: [
      or(vuln(OPENSSL, { versionStartIncluding: '1.0.2', versionEndExcluding: '1.0.2zd' }), vuln(OPENSSL, { versionStartIncluding: '1.1.0', versionEndExcluding: '1.1.1n' }), vuln(OPENSSL, { versionStartIncluding: '3.0.0', versionEndExcluding: '3.0.2' })),
      or(vuln(MARIADB, { versionStartIncluding: '10.2.0', versionEndExcluding: '10.2.42' }), vuln(MARIADB, { versionStartIncluding: '10.3.0', versionEndExcluding: '10.3.33' }), vuln(MARIADB, { versionStartIncluding: '10.4.0', versionEndExcluding: '10.4.23' }),
        vuln(MARIADB, { versionStartIncluding: '10.5.0', versionEndExcluding: '10.5.14' }), vuln(MARIADB, { versionStartIncluding: '10.6.0', versionEndExcluding: '10.6.6' }), vuln(MARIADB, { versionStartIncluding: '10.7.0', versionEndExcluding: '10.7.2' })),
    ] },

  // ---- MySQL / MariaDB
  // NVD CVE-2012-2122 (record of 2024-11-21; CVSS 2.0 only; NVD enumerates exact versions); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2012-2122', cvss: v2(5.1, 'medium', 'AV:N/AC:H/Au:N/C:P/I:P/A:P'), kev: false,
    summary: 'with some memcmp implementations, repeating a wrong password eventually bypasses authentication',
    configurations: [
      or(...each('oracle', 'mysql', range('5.1.', 51, 52)), vuln(app('oracle', 'mysql', '5.1.52', 'sp1')), ...each('oracle', 'mysql', range('5.1.', 53, 61))),
      or(...each('oracle', 'mysql', range('5.5.', 10, 21))),
      or(...each('oracle', 'mysql', range('5.6.', 2, 5))),
      or(...each('mariadb', 'mariadb', ['5.1.41', '5.1.42', '5.1.44', '5.1.47', '5.1.49', '5.1.50', '5.1.51', '5.1.53', '5.1.55', '5.1.60', '5.1.61'])),
      or(...each('mariadb', 'mariadb', range('5.2.', 0, 11))),
      or(...each('mariadb', 'mariadb', range('5.3.', 0, 6))),
      or(...each('mariadb', 'mariadb', range('5.5.', 20, 22))),
    ] },
  // NVD CVE-2016-6662 (record of 2026-06-17; CVSS 3.0 is NVD's primary); KEV: no (per that record)
  { id: 'CVE-2016-6662', cvss: v30(9.8, 'critical', NET_RCE), kev: false,
    summary: 'general_log_file can be pointed at my.cnf to inject settings (malloc_lib) and gain root',
    configurations: [
      or(vuln(app('oracle', 'mysql'), { versionStartIncluding: '5.5.0', versionEndIncluding: '5.5.52' }), vuln(app('oracle', 'mysql'), { versionStartIncluding: '5.6.0', versionEndIncluding: '5.6.33' }), vuln(app('oracle', 'mysql'), { versionStartIncluding: '5.7.0', versionEndIncluding: '5.7.15' })),
      or(vuln(MARIADB, { versionStartIncluding: '5.5.20', versionEndExcluding: '5.5.51' }), vuln(MARIADB, { versionStartIncluding: '10.0.0', versionEndExcluding: '10.0.27' }), vuln(MARIADB, { versionStartIncluding: '10.1.0', versionEndExcluding: '10.1.17' })),
    ] },
  // NVD CVE-2021-27928 (record of 2026-06-17); KEV: no (per that record)
  { id: 'CVE-2021-27928', cvss: v31(7.2, 'high', 'AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'a SUPER user can run OS commands by setting wsrep_provider / wsrep_notify_cmd',
    configurations: [or(vuln(MARIADB, { versionStartIncluding: '10.2', versionEndExcluding: '10.2.37' }), vuln(MARIADB, { versionStartIncluding: '10.3', versionEndExcluding: '10.3.28' }),
      vuln(MARIADB, { versionStartIncluding: '10.4', versionEndExcluding: '10.4.18' }), vuln(MARIADB, { versionStartIncluding: '10.5', versionEndExcluding: '10.5.9' }))] },

  // ---- PostgreSQL
  // NVD CVE-2023-5869 (record of 2024-01-19); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2023-5869', cvss: v31(8.8, 'high', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'missing overflow checks in SQL array modification let an authenticated user run code',
    configurations: [or(vuln(app('postgresql', 'postgresql'), { versionStartIncluding: '11.0', versionEndExcluding: '11.22' }), vuln(app('postgresql', 'postgresql'), { versionStartIncluding: '12.0', versionEndExcluding: '12.17' }),
      vuln(app('postgresql', 'postgresql'), { versionStartIncluding: '13.0', versionEndExcluding: '13.13' }), vuln(app('postgresql', 'postgresql'), { versionStartIncluding: '14.0', versionEndExcluding: '14.10' }),
      vuln(app('postgresql', 'postgresql'), { versionStartIncluding: '15.0', versionEndExcluding: '15.5' }), vuln(app('postgresql', 'postgresql', '16.0')))] },

  // ---- Redis
  // NVD CVE-2022-0543 (record of 2025-10-21; NVD models it as redis:- on Debian/Ubuntu); KEV: yes (added 2022-03-28); Debian DSA-5081
  { id: 'CVE-2022-0543', cvss: v31(10.0, 'critical', 'AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), kev: true,
    summary: 'Debian-specific packaging flaw allows a Lua sandbox escape and remote code execution',
    configurations: [and([vuln(app('redis', 'redis', '-'))], [platform(os('canonical', 'ubuntu_linux', '20.04', 'lts')), platform(os('canonical', 'ubuntu_linux', '21.10', '-')),
      platform(os('debian', 'debian_linux', '9.0')), platform(os('debian', 'debian_linux', '10.0')), platform(os('debian', 'debian_linux', '11.0'))])],
    fixedIn: [deb('redis', '5:6.0.16-1+deb11u2', 'bullseye'), deb('redis', '5:5.0.14-1+deb10u2', 'buster')] },
  // NVD CVE-2022-24834 (record of 2023-08-14); KEV: no (checked 2023-06-29 to 2025-02-05)
  { id: 'CVE-2022-24834', cvss: v31(8.8, 'high', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'a crafted Lua script overflows the heap in the cjson library (authenticated users)',
    configurations: [or(vuln(REDIS, { versionStartIncluding: '2.6.0', versionEndExcluding: '6.0.20' }), vuln(REDIS, { versionStartIncluding: '6.2.0', versionEndExcluding: '6.2.13' }), vuln(REDIS, { versionStartIncluding: '7.0.0', versionEndExcluding: '7.0.12' }))] },
  // NVD CVE-2023-45145 (record of 2024-01-21); KEV: no (checked to 2025-02-05)
  { id: 'CVE-2023-45145', cvss: v31(3.6, 'low', 'AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:N'), kev: false,
    summary: 'the Unix socket is briefly open before its permissions are applied, a local race',
    configurations: [or(vuln(REDIS, { versionStartIncluding: '2.6.0', versionEndExcluding: '6.2.14' }), vuln(REDIS, { versionStartIncluding: '7.0.0', versionEndExcluding: '7.0.14' }),
      vuln(REDIS, { versionStartIncluding: '7.2.0', versionEndExcluding: '7.2.2' }), vuln(app('redis', 'redis', '2.6.0', 'rc1')))] },
  // NVD CVE-2025-49844 (record of 2025-10-06; NVD primary 8.8, GitHub CNA 9.9); KEV: no (per that record)
  { id: 'CVE-2025-49844', cvss: v31(8.8, 'high', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'a Lua script from an authenticated user can trigger a garbage-collector use-after-free, possibly code execution',
    configurations: [or(vuln(REDIS, { versionEndExcluding: '6.2.20' }), vuln(REDIS, { versionStartIncluding: '7.0', versionEndExcluding: '7.2.11' }), vuln(REDIS, { versionStartIncluding: '7.4.0', versionEndExcluding: '7.4.6' }),
      vuln(REDIS, { versionStartIncluding: '8.0.0', versionEndExcluding: '8.0.4' }), vuln(REDIS, { versionStartIncluding: '8.2.0', versionEndExcluding: '8.2.2' }))] },

  // ---- Samba
  // NVD CVE-2017-7494 (record of 2025-10-21); KEV: yes (added 2023-03-30); Debian DSA-3860
  { id: 'CVE-2017-7494', cvss: v31(9.8, 'critical', NET_RCE), kev: true,
    summary: 'a client that can write to a share uploads a shared library and makes the server load and run it',
    configurations: [or(vuln(SAMBA, { versionStartIncluding: '3.5.0', versionEndExcluding: '4.4.0' }), vuln(SAMBA, { versionStartIncluding: '4.4.0', versionEndExcluding: '4.4.14' }),
      vuln(SAMBA, { versionStartIncluding: '4.5.0', versionEndExcluding: '4.5.10' }), vuln(SAMBA, { versionStartIncluding: '4.6.0', versionEndExcluding: '4.6.4' }))],
    fixedIn: [deb('samba', '2:4.2.14+dfsg-0+deb8u6', 'jessie')] },
  // NVD CVE-2021-44142 (record of 2025-04-23); KEV: no (per that record); Debian DSA-5071
  { id: 'CVE-2021-44142', cvss: v31(8.8, 'high', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), kev: false,
    summary: 'vfs_fruit extended-attribute parsing reads and writes out of bounds: code execution as root',
    configurations: [or(vuln(SAMBA, { versionEndExcluding: '4.13.17' }), vuln(SAMBA, { versionStartIncluding: '4.14.0', versionEndExcluding: '4.14.12' }), vuln(SAMBA, { versionStartIncluding: '4.15.0', versionEndExcluding: '4.15.5' }))],
    fixedIn: [deb('samba', '2:4.13.13+dfsg-1~deb11u3', 'bullseye'), deb('samba', '2:4.9.5+dfsg-5+deb10u3', 'buster')] },
];

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The built-in dataset, frozen: callers share it, so nobody may edit it in place. */
export const BUILTIN_VULNS: readonly BuiltinVuln[] = deepFreeze(DATA);

/** `vendor:product` of a CPE 2.3 name, lower case with backslash escapes removed; undefined when malformed. */
function vendorProduct(criteria: string): string | undefined {
  const f = splitCpe23(criteria);
  if (!f) return undefined;
  const clean = (s: string): string => s.replace(/\\(.)/g, '$1').toLowerCase();
  return `${clean(f[1]!)}:${clean(f[2]!)}`;
}

/** Each entry's vulnerable `vendor:product` pairs, computed once. */
const PAIRS: ReadonlyMap<BuiltinVuln, ReadonlySet<string>> = new Map(
  BUILTIN_VULNS.map((v) => [v, new Set(v.configurations.flatMap((c) => c.nodes.flatMap((n) => n.cpeMatch.filter((m) => m.vulnerable).map((m) => vendorProduct(m.criteria) ?? ''))))]),
);

/**
 * The built-in CVEs whose vulnerable criteria name one of `products` (vendor and product as CPE
 * 2.3 fields are written: `openbsd`/`openssh`, `f5`/`nginx`, `vsftpd_project`/`vsftpd`). Matching
 * is exact after lower-casing; no vendor aliases are applied. Dataset order, each CVE once.
 * Malformed input (not an array, entries without string fields) selects nothing.
 */
export function builtinCandidates(products: { vendor: string; product: string }[]): BuiltinVuln[] {
  if (!Array.isArray(products)) return [];
  const wanted = new Set<string>();
  for (const p of products as unknown[]) {
    if (typeof p !== 'object' || p === null) continue;
    const { vendor, product } = p as Record<string, unknown>;
    if (typeof vendor !== 'string' || typeof product !== 'string' || vendor.length > 256 || product.length > 256) continue;
    wanted.add(`${vendor.trim().replace(/\\(.)/g, '$1').toLowerCase()}:${product.trim().replace(/\\(.)/g, '$1').toLowerCase()}`);
  }
  if (wanted.size === 0) return [];
  return BUILTIN_VULNS.filter((v) => [...(PAIRS.get(v) ?? [])].some((pair) => wanted.has(pair)));
}
