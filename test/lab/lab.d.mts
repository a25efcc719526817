// Types for lab.mjs (plain JS so benchmarks can import it with bare `node`). TS code imports lab.ts.
import type { LabDaemonName, LabHostilePort, LabProcess, LabService } from './services.mjs';

export type {
  LabDaemonName, LabDaemonPort, LabDaemonSpec, LabHostileBehaviour, LabHostilePort, LabHostileSpec, LabProcess, LabService,
} from './services.mjs';
export {
  DAEMONS, DAEMON_NAMES, HOSTILE_PORTS, HOSTILE_PORT_NUMBERS, SERVICE_PORTS, groundTruth, hostileTruth, packageVersions, upstreamVersion,
} from './services.mjs';

/** A port state as a connect scan (and nmap) reports it. */
export type LabState = 'open' | 'closed' | 'filtered';

/** nmap's reason vocabulary, the subset a connect scan can produce (src/core/status.ts). */
export type LabReason = Exclude<import('../../src/core/status.js').PortReason, 'error'>;

/** IP version of a probe. */
export type LabFamily = 4 | 6;

/**
 * The lab's hosts. `down` has an address but no namespace. `svc` (real daemons) and `hostile`
 * (hostile.mjs) are opt-in: only built when named in `hosts`.
 */
export type LabHostName = 'mixed' | 'drop' | 'closed' | 'canary' | 'down' | 'svc' | 'hostile';

/** What a probe to one port ends as, and why. */
export interface LabOutcome {
  readonly state: LabState;
  /** The reason a scanner that reads the ICMP error queue (IP_RECVERR / IPV6_RECVERR) must report. */
  readonly reason: LabReason;
  /** The reason when only connect()'s errno is known, if it differs from `reason`. */
  readonly reasonIfNoIcmpDetail?: LabReason;
  /** What `nmap -sT --reason` prints (measured with nmap 7.93; it only sees the errno). */
  readonly nmapReason: LabReason;
  /** connect()'s errno on Linux; null when it connects or when nothing ever answers. */
  readonly errno: string | null;
  /** The nft statement producing this answer, or null (listener, kernel RST, policy, no host). */
  readonly nftRule: string | null;
  /**
   * The answer only exists after this long, for every scanner (the `down` host: ~3 s of failed
   * ARP / neighbour discovery). A probe timeout shorter than this reports filtered/no-response.
   */
  readonly answerAfterMs?: number;
  /**
   * A scanner that only sees connect()'s errno (no IP_RECVERR / IPV6_RECVERR) gets this answer
   * only after this long (v6 ICMP rejects: the first SYN retransmission, ~1 s; see hosts.mjs).
   * With a shorter probe timeout it reports filtered/no-response; nmap -sT at -T4 does exactly that.
   */
  readonly errnoOnlyAfterMs?: number;
  /** One line for a failing assertion: what produces this answer. */
  readonly cause: string;
}

/** The expected answer of one port in one family. */
export interface LabPortExpectation extends LabOutcome {
  readonly port: number;
  readonly family: LabFamily;
}

/** An inclusive port range with its v4 and v6 outcome. */
export interface LabPortRange {
  readonly from: number;
  readonly to: number;
  readonly v4: LabOutcome;
  readonly v6: LabOutcome;
}

/** A host of the lab as data (independent of any running instance). */
export interface LabHostSpec {
  readonly name: LabHostName;
  /** Last byte of `v4`, last group of `v6`. */
  readonly index: number;
  readonly v4: string;
  readonly v6: string;
  /** False for `down`: the address is on the subnet, but nothing answers ARP/ND. */
  readonly present: boolean;
  /** True for the opt-in hosts (`svc`, `hostile`), which are not in LAB_DEFAULT_HOSTS. */
  readonly optional: boolean;
  readonly about: string;
  readonly listenPorts: readonly number[];
  /** Ports with a listener or an nft rule; every other port gets `default`. */
  readonly ranges: readonly LabPortRange[];
  readonly default: LabOutcome;
  readonly defaultState: LabState;
  readonly defaultReason: LabReason;
}

/** A host in a running lab. */
export interface LabHost extends LabHostSpec {
  /** Its namespace, or null for a host that is not present. */
  readonly ns: string | null;
  /** Every port a range names, both families, expanded. Ports not listed get `default`. */
  readonly expectations: readonly LabPortExpectation[];
}

/** Result of a command run inside a lab namespace. A non-zero exit is a value, not an exception. */
export interface LabExecResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Limits for a command run in the lab. */
export interface LabExecOptions {
  /** SIGKILL the command after this long (default 60 000 ms). */
  timeoutMs?: number;
  /** Keep at most this much of stdout and of stderr (default 64 MiB). */
  maxBytes?: number;
  /** Written to the command's stdin. */
  input?: string;
}

/** A running lab. */
export interface Lab {
  /** Unique per instance, e.g. `ptl4242x1a3f9`; every namespace is `<prefix>-<role>`. */
  readonly prefix: string;
  /** The scanner's namespace (198.18.0.1, 2001:2::1). */
  readonly scanNs: string;
  /** The namespace holding the bridge. */
  readonly switchNs: string;
  /** Every namespace of this instance. */
  readonly namespaces: readonly string[];
  readonly scanner: { readonly v4: string; readonly v6: string };
  readonly hosts: Readonly<Record<LabHostName, LabHost>>;
  /** How long startLab took, in ms (0 for an attached lab). */
  readonly startupMs: number;
  /** Ground truth for every port of the `svc` host's daemons (empty without `svc`), sorted by port. */
  readonly services: readonly LabService[];
  /** The `hostile` host's ports (empty without `hostile`). */
  readonly hostile: readonly LabHostilePort[];
  /** Start-up ms per daemon plus `total` (daemons start in parallel); empty without `svc`. */
  readonly serviceTimings: Readonly<Record<string, number>>;
  /** The lab's temporary directory (daemon configs, data and logs: `<tmpDir>/<daemon>/<daemon>.log`), or null. */
  readonly tmpDir: string | null;
  /** `argv` prefixed to run inside the scanner namespace (`ip netns exec <scanNs> ...`). */
  scanArgv(argv: readonly string[]): string[];
  /** Run a command inside the scanner namespace. */
  exec(argv: readonly string[], opts?: LabExecOptions): Promise<LabExecResult>;
  /** Run a command inside a host's namespace. */
  execIn(host: LabHostName | LabHost, argv: readonly string[], opts?: LabExecOptions): Promise<LabExecResult>;
  /** PIDs of every process this lab started and stops by PID (listeners, hostile.mjs, watchdog, daemons). */
  listenerPids(): number[];
  /** The same processes with their namespace, start time and name. */
  processes(): LabProcess[];
  /** Packets from the scanner's addresses seen by the canary host, plus ARP requests for it. */
  readCanary(): Promise<number>;
  /** Stop the listeners and delete the namespaces, by the names and PIDs recorded. Idempotent. */
  teardown(): Promise<void>;
}

/** Options for startLab. */
export interface LabOptions {
  /** Build only these hosts (default: LAB_DEFAULT_HOSTS, i.e. all but `svc` and `hostile`). */
  hosts?: readonly LabHostName[];
  /** Daemons the `svc` host runs (default: all of DAEMON_NAMES). */
  daemons?: readonly LabDaemonName[];
  /** Keep Linux's default ICMP rate limits on the target hosts (default: disabled for exact answers). */
  icmpRateLimit?: boolean;
  /** Not tied to this process: survives its exit, ignored by cleanupStale (lab-cli `up`). */
  persistent?: boolean;
  /** Listeners exit after this many seconds whatever happens (default 3 h; 12 h when persistent). */
  maxLifeS?: number;
}

/** The record a lab keeps in RECORD_DIR. */
export interface LabRecord {
  prefix: string;
  ownerPid: number;
  ownerStart: string | null;
  persistent: boolean;
  createdAt: string;
  namespaces: string[];
  hosts: LabHostName[];
  listeners: LabProcess[];
  /** Temporary directory of the `svc` daemons (removed at teardown), or null. */
  tmpDir?: string | null;
  daemons?: LabDaemonName[];
  /** Full Debian package version per daemon. */
  versions?: Partial<Record<LabDaemonName, string>>;
  serviceTimings?: Record<string, number>;
}

export declare const LAB_NET: Readonly<{ v4Subnet: string; v6Subnet: string; scannerV4: string; scannerV6: string }>;
export declare const LAB_HOSTS: Readonly<Record<LabHostName, LabHostSpec>>;
export declare const LAB_HOST_NAMES: readonly LabHostName[];
/** The hosts startLab() builds by default: all but the opt-in `svc` and `hostile`. */
export declare const LAB_DEFAULT_HOSTS: readonly LabHostName[];
export declare const RECORD_DIR: string;

/** True when the lab can run: Linux, root, `ip` and `nft` present. */
export declare function labAvailable(): boolean;
/** Why the lab cannot run here, or null when it can (use as a skip message). */
export declare function labUnavailableReason(): string | null;
/** Build a lab (removing stale ones first) and return its handle. */
export declare function startLab(opts?: LabOptions): Promise<Lab>;
/** A handle for a lab that is already up, by prefix. */
export declare function attachLab(prefix: string): Lab;
/** Remove labs whose owner process died; returns the prefixes removed. */
export declare function cleanupStale(): Promise<string[]>;
/** Tear down a lab by prefix from its record; false when there is no such record. */
export declare function teardownPrefix(prefix: string): Promise<boolean>;
/** Every lab record on this machine. */
export declare function listLabs(): (LabRecord & { ownerAlive: boolean })[];
/** Exact expected state, reason, errno and cause for host:port over v4 (default) or v6. */
export declare function expectedState(host: LabHostName | LabHostSpec, port: number, family?: LabFamily): LabPortExpectation;
/** Every port a host's ranges name, both families, expanded. */
export declare function expectationsOf(host: LabHostName | LabHostSpec): LabPortExpectation[];
/** A short port list touching every rule of a host (range ends plus a few default ports), sorted. */
export declare function samplePorts(host: LabHostName | LabHostSpec): number[];
/** The nft ruleset a host loads, or null. */
export declare function nftRuleset(host: LabHostName | LabHostSpec): string | null;
