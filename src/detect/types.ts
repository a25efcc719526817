/**
 * The contract between the probe runner (probe.ts, identify.ts) and the protocol detectors
 * (protocols/*.ts). A detector never touches a socket: it reads and writes through a `Session`,
 * which caps every read in bytes and time, so no detector can stall a scan or grow memory.
 */
import type { Duplex } from 'node:stream';

/** Why a read stopped. */
export type ReadEnd =
  /** The `complete` predicate said the reply is whole. */
  | 'complete'
  /** The time limit passed. */
  | 'timeout'
  /** The server closed its side (FIN). */
  | 'closed'
  /** The connection was reset or failed. */
  | 'reset'
  /** The per-connection byte cap was reached; the session stops reading. */
  | 'cap';

export interface ReadResult {
  /** Bytes no earlier read returned: what arrived since the previous read (not the whole session). */
  data: Buffer;
  end: ReadEnd;
}

export type { CertificateInfo, Evidence, TlsInfo } from '../core/model.js';
import type { Evidence, TlsInfo } from '../core/model.js';

/**
 * What a detector concluded. `service` is nmap's service name so our output and imported nmap data
 * agree (`ssh`, `http`, `smtp`, `mysql`, `postgresql`, …).
 */
export interface Identification {
  service: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  /** nmap's ostype: `Linux`, `Windows`, `Unix`. */
  ostype?: string;
  devicetype?: string;
  hostname?: string;
  /** Distribution named by the banner (`Debian`, `Ubuntu`, …). */
  distro?: string;
  /** The distribution's package revision (`2+deb12u3`), kept for backport-aware CVE checks. */
  packageRevision?: string;
  /** CPE 2.3 names (build them with core/cpe.ts). */
  cpe?: string[];
  /** 0–10: 10 for a version read from the protocol, 8 for a product without version, 5 for a weak hint. */
  confidence: number;
  evidence?: Evidence[];
  /**
   * Values other signature sets (user files, Recog) can match, keyed Recog-style:
   * `ssh.banner`, `http_header.server`, `ftp.banner`, `smtp.banner`, `imap4.banner`, `pop3.banner`, …
   */
  fields?: Record<string, string>;
  /** TLS facts when the detector upgraded the connection itself (STARTTLS). */
  tls?: TlsInfo;
  /** The server offered STARTTLS (smtp, imap, pop3, ftp AUTH TLS, ldap, …). */
  startTls?: boolean;
}

/** Facts about the connection a detector is working on. */
export interface Target {
  address: string;
  /** The name the user typed, for Host headers and SNI; undefined for a bare address. */
  hostname?: string;
  port: number;
  /** Set when the session runs inside TLS. */
  tunnel?: 'ssl';
}

/**
 * One TCP (or TLS) connection with capped reads. Everything received is kept in `received`
 * (up to the byte cap), so a late greeting is never lost.
 */
export interface Session {
  readonly target: Target;
  /** Everything the server sent on this connection so far (capped). */
  readonly received: Buffer;
  /** True once the server closed or reset, or the cap was hit. */
  readonly ended: boolean;
  /** Bytes sent on this connection so far. */
  readonly sentBytes: number;
  send(data: Buffer | string): void;
  /**
   * Wait for bytes. Resolves when `complete(bytes not yet returned by an earlier read)` returns true, the
   * server closes, the byte cap is hit, or `timeoutMs` passes (capped by the port's budget). Never
   * rejects.
   */
  read(timeoutMs: number, complete?: (data: Buffer) => boolean): Promise<ReadResult>;
  /** A fresh connection to the same target (same tunnel); undefined if it cannot be opened in budget. */
  reconnect(): Promise<Session | undefined>;
  /** Upgrade this connection in place to TLS (after a STARTTLS exchange). */
  startTls(): Promise<TlsInfo | undefined>;
  /**
   * A fresh raw connection to the same target, outside TLS, for a library that speaks the
   * protocol itself (ssh2 for the SSH auth-method check). No byte cap: the caller bounds it and
   * must destroy it; the runner destroys it too when the port's budget ends.
   */
  openStream(): Promise<Duplex | undefined>;
  /** Milliseconds left in this port's budget. */
  remainingMs(): number;
  close(): void;
}

/** Read-time knobs a detector should use instead of literal numbers. */
export interface ProbeTiming {
  /** Wait for an answer to a probe from a server expected to answer (ms). */
  replyMs: number;
  /** Wait after a first chunk for the rest of a multi-packet reply (ms). */
  settleMs: number;
}

export interface ProbeContext {
  session: Session;
  timing: ProbeTiming;
  /** 0–9, as nmap's --version-intensity. */
  intensity: number;
  /** Whatever earlier steps found (the greeting's identification, for a follow-up). */
  previous?: Identification;
}

/**
 * A protocol detector: one file under protocols/, one line in registry.ts.
 *
 * - `greeting` recognises what a server says unprompted (or in answer to any probe) — pure.
 * - `probe` speaks the protocol actively on a session (which may already hold a greeting) and
 *   returns an identification, or undefined when the answer was not this protocol.
 * - `followUp` runs after this detector's greeting matched, on the same connection: version
 *   queries and read-only safe checks (anonymous FTP, Redis without auth, SSH auth methods, …).
 */
export interface Detector {
  /** nmap service name this detector produces, e.g. `ssh`. */
  readonly name: string;
  /** Ports where this protocol usually lives; they order probes and choose who runs first. */
  readonly ports: readonly number[];
  /** Ports where it usually runs inside TLS (`https` 443, `imaps` 993, …). */
  readonly tlsPorts?: readonly number[];
  /** True if the server speaks first; the runner waits for a greeting before probing. */
  readonly serverFirst?: boolean;
  /**
   * 1–9 like nmap's rarity: the probe runs on ports not in `ports` only when rarity ≤ intensity.
   * Default 5.
   */
  readonly rarity?: number;
  greeting?(data: Buffer, target: Target): Identification | undefined;
  probe?(ctx: ProbeContext): Promise<Identification | undefined>;
  followUp?(ctx: ProbeContext & { previous: Identification }): Promise<Identification>;
}
