// Types for services.mjs and its tables (service-table.mjs). TS code imports them through lab.ts.

/** The real daemons of the `svc` host (one process each). */
export type LabDaemonName =
  | 'ssh' | 'ftp' | 'smtp' | 'dns' | 'nginx' | 'dovecot' | 'mqtt' | 'mariadb' | 'postgresql' | 'redis' | 'apache' | 'memcached';

/** One port of a daemon. */
export interface LabDaemonPort {
  readonly port: number;
  /** nmap's service name (`http` for the TLS port too; its tunnel says `ssl`). */
  readonly service: string;
  readonly tunnel?: 'ssl';
}

/** A daemon of the `svc` host as data. */
export interface LabDaemonSpec {
  readonly name: LabDaemonName;
  /** Debian package the version is read from; `postgresql-*` stands for the installed major. */
  readonly pkg: string;
  /** Accepts nmap's product name and ours (e.g. /^OpenSSH$/, /Postfix/, /MariaDB/). */
  readonly product: RegExp;
  /** False when the daemon listens on the host's v4 address only (vsftpd). */
  readonly v6: boolean;
  readonly ports: readonly LabDaemonPort[];
}

/** Ground truth for one port of the `svc` host: what a version scanner must report there. */
export interface LabService {
  readonly host: 'svc';
  readonly daemon: LabDaemonName;
  /** The host's v4 address (every daemon listens there). */
  readonly address: string;
  /** The host's v6 address when the daemon listens there too, else null. */
  readonly address6: string | null;
  readonly port: number;
  /** nmap's service name: ssh, ftp, smtp, domain, http, pop3, imap, mqtt, mysql, postgresql, redis, memcached. */
  readonly service: string;
  /** Accepts nmap's and our spelling of the product. */
  readonly product: RegExp;
  /** Upstream version from dpkg at lab start: no epoch, Debian revision or repack suffix ("9.2p1"). */
  readonly version: string;
  /** The full Debian package version ("1:9.2p1-2+deb12u10"). */
  readonly packageVersion: string;
  /** The Debian package the version comes from. */
  readonly package: string;
  /** 'ssl' for nginx's 443. */
  readonly tunnel: 'ssl' | null;
}

/** What a port of the `hostile` host does (hostile.mjs). */
export type LabHostileBehaviour =
  | 'tarpit' | 'endless' | 'drip' | 'reset' | 'close' | 'garbage' | 'hugeline' | 'ansi' | 'sshgarbage';

/** A port of the hostile host as data. */
export interface LabHostileSpec {
  readonly port: number;
  readonly behaviour: LabHostileBehaviour;
  readonly about: string;
  /** What nmap -sV says (tcpwrapped, ssh); absent when there is nothing to identify. */
  readonly service?: string;
}

/** A port of the running hostile host. */
export interface LabHostilePort {
  readonly host: 'hostile';
  readonly address: string;
  readonly address6: string;
  readonly port: number;
  readonly behaviour: LabHostileBehaviour;
  readonly about: string;
  /** The expected service name, or null: nothing to identify (nmap: `unknown`). */
  readonly service: string | null;
}

/** A process the lab started and stops by PID (listener, hostile.mjs, watchdog, daemon). */
export interface LabProcess {
  ns: string;
  pid: number;
  /** Kernel start time (jiffies), so a reused PID is never signalled. */
  start: string | null;
  /** `listener`, `hostile`, `watchdog` or `svc:<daemon>`. */
  name?: string;
  /** First signal at teardown (SIGINT for PostgreSQL's fast shutdown); SIGKILL follows after a grace. */
  stopSignal?: string;
}

export declare const DAEMONS: readonly LabDaemonSpec[];
export declare const DAEMON_NAMES: readonly LabDaemonName[];
/** Every port of the `svc` host's daemons, sorted. */
export declare const SERVICE_PORTS: readonly number[];
export declare const HOSTILE_PORTS: readonly LabHostileSpec[];
export declare const HOSTILE_PORT_NUMBERS: readonly number[];
/** A daemon must listen on every port within this long. */
export declare const DAEMON_READY_TIMEOUT_MS: number;

/** "1:9.2p1-2+deb12u10" -> "9.2p1"; "1:2.3.19.1+dfsg1-2.1+deb12u7" -> "2.3.19.1". */
export declare function upstreamVersion(packageVersion: string): string;
/** The Debian package of each daemon. */
export declare function daemonPackages(names?: readonly LabDaemonName[]): Partial<Record<LabDaemonName, string>>;
/** Installed package versions per daemon, from dpkg-query; throws naming any package not installed. */
export declare function packageVersions(names?: readonly LabDaemonName[]): Promise<Partial<Record<LabDaemonName, string>>>;
/** Ground-truth rows, one per port, sorted by port. */
export declare function groundTruth(opts: {
  names: readonly LabDaemonName[];
  versions: Partial<Record<LabDaemonName, string>>;
  v4: string;
  v6: string;
  host?: 'svc';
}): LabService[];
/** The hostile host's ports with addresses. */
export declare function hostileTruth(opts: { v4: string; v6: string; host?: 'hostile' }): LabHostilePort[];
/** Start daemons inside `ns` (lab.mjs does this for the `svc` host). */
export declare function startServices(opts: {
  ns: string;
  v4: string;
  v6: string;
  tmpDir: string;
  names?: readonly LabDaemonName[];
  persistent?: boolean;
  onSpawn?: (proc: LabProcess) => void;
}): Promise<{
  versions: Partial<Record<LabDaemonName, string>>;
  processes: (LabProcess & { ms: number })[];
  timings: Record<string, number>;
}>;
