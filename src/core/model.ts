/**
 * The one model every stage reads and writes. A service found by our scan, by an importer or by a
 * listener audit is the same `Service`; only `source` tells them apart.
 */
import type { PortReason, PortState } from './status.js';

export type Family = 4 | 6;
export type Protocol = 'tcp' | 'udp';

/** Where a fact came from. */
export type Source = 'portolan' | 'nmap' | 'masscan' | 'naabu' | 'rustscan' | 'amap' | 'nessus' | 'local' | 'ssh' | 'netstat';

/** How a service name was obtained: guessed from the port number, or read from what the service said. */
export type ServiceMethod = 'table' | 'probed';

/** What a TLS handshake told us. */
export interface TlsInfo {
  /** `TLSv1.3`, `TLSv1.2`, … as negotiated. */
  protocol: string;
  cipher: string;
  /** ALPN protocol chosen by the server, if any (`h2`, `http/1.1`). */
  alpn?: string;
  certificate?: CertificateInfo;
  /** Legacy versions this server still accepts (checked with separate handshakes). */
  legacyVersions?: string[];
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** DNS names and IP addresses from subjectAltName. */
  altNames: string[];
  /** ISO 8601. */
  validFrom: string;
  validTo: string;
  selfSigned: boolean;
  expired: boolean;
  /** `RSA`, `EC`, `Ed25519`, … */
  keyType?: string;
  /** Key size in bits (RSA modulus, EC curve size). */
  keyBits?: number;
  /** SHA-256 fingerprint, colon-separated hex. */
  fingerprint256: string;
  serialNumber: string;
}

/** A fact a read-only safe check established, for the assessment stage. */
export interface Evidence {
  /** Stable identifier: `redis-no-auth`, `ftp-anonymous`, `ssh-password-auth`, `tls-legacy-version`, … */
  id: string;
  /** One line a human can read; built from escaped data. */
  detail: string;
}

export interface Service {
  /** nmap-style service name (`ssh`, `http`, `postgresql`, …). */
  name: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  ostype?: string;
  devicetype?: string;
  /** `ssl` when the service was found inside TLS. */
  tunnel?: 'ssl';
  method: ServiceMethod;
  /** 0–10, as nmap's `conf`: 3 for a port-table guess, 10 for a strong banner match. */
  confidence: number;
  /** CPE 2.3 names. */
  cpe: string[];
  /** What the service said, escaped and truncated, when it was not recognised. */
  banner?: string;
  hostname?: string;
  /** Distribution named by the banner (`Debian`) and its package revision (`2+deb12u3`), for backport checks. */
  distro?: string;
  packageRevision?: string;
  /** TLS facts when the service runs inside TLS (or was upgraded with STARTTLS). */
  tls?: TlsInfo;
  /** The server offered STARTTLS. */
  startTls?: boolean;
  /** What the detector read that other tools match on (`ssh.banner`, `http_header.server`, `html_title`, …). */
  fields?: Record<string, string>;
  /** Read-only safe checks that established a fact (no auth required, legacy TLS, …). */
  evidence?: Evidence[];
}

/** Where a listening socket is bound, as a listener audit (`/proc`, ss, netstat) sees it. */
export interface ListenerInfo {
  /** The local address it is bound to (`0.0.0.0`, `::`, `127.0.0.1`, `192.0.2.5`, `*`). */
  bindAddress: string;
  /** `loopback` (only this machine can reach it), `all` (every interface), `specific` (one address). */
  scope: 'loopback' | 'all' | 'specific';
  pid?: number;
  process?: string;
  user?: string;
}

export interface PortResult {
  protocol: Protocol;
  port: number;
  state: PortState;
  reason: PortReason;
  /** Round-trip time of the deciding probe in milliseconds, where there was an answer. */
  rttMs?: number;
  /** How many probes were sent for this port before its state was decided. */
  tries: number;
  service?: Service;
  /** Set when the port came from a listener audit rather than from the network. */
  listener?: ListenerInfo;
}

export type HostStatus = 'up' | 'down';

/** Why a host is considered up or down (nmap's `reason` on `<status>`). */
export type HostReason = 'user-set' | 'syn-ack' | 'conn-refused' | 'host-unreach' | 'no-response' | 'localhost-response' | 'admin-prohibited' | 'net-unreach';

export interface HostResult {
  address: string;
  family: Family;
  /** Names the user gave (the target spec) or that reverse DNS returned. */
  hostnames: HostName[];
  status: HostStatus;
  statusReason: HostReason;
  /** Ports in ascending order. For a down host, empty. */
  ports: PortResult[];
  /** Epoch milliseconds. */
  startedAt: number;
  endedAt: number;
  /** Smoothed RTT and variance, microseconds, as nmap's `<times>`. */
  srttUs?: number;
  rttvarUs?: number;
  timeoutUs?: number;
  /** Set when --host-timeout ended this host before all ports were decided; its ports are then omitted, as nmap does. */
  timedOut?: boolean;
}

/** A vulnerability finding another scanner reported (Nessus), kept for the assessment stage. */
export interface ImportedFinding {
  protocol: Protocol;
  port: number;
  pluginId: string;
  pluginName: string;
  /** 0 info, 1 low, 2 medium, 3 high, 4 critical (Nessus' scale). */
  severity: number;
  cves: string[];
  cvss2?: number;
  cvss3?: number;
  synopsis?: string;
}

/** An installed package (dpkg, rpm), for backport-aware CVE checks. */
export interface InstalledPackage {
  name: string;
  version: string;
  arch?: string;
  manager: 'dpkg' | 'rpm';
}

/**
 * One host as one source saw it: the unit every importer yields, a scan produces and the store
 * ingests. The source applies to every port and service in it.
 */
export interface Observation {
  host: HostResult;
  source: Source;
  /** Operating system as the source named it (Nessus, nmap -O, a banner), free text. */
  osHint?: string;
  findings?: ImportedFinding[];
  packages?: InstalledPackage[];
}

export interface HostName {
  name: string;
  /** `user` for the name given on the command line, `PTR` for reverse DNS. */
  type: 'user' | 'PTR';
}

/** What a scan was asked to do; enough to write any output header and to resume. */
export interface ScanPlan {
  /** The argv the user typed, for the `args` attribute and the resume check. */
  args: string[];
  scanType: 'connect';
  protocol: Protocol;
  /** Ports in scan order (may be shuffled); outputs sort them. */
  ports: readonly number[];
  startedAt: number;
  version: string;
}

export interface ScanSummary {
  endedAt: number;
  hostsUp: number;
  hostsDown: number;
  hostsTotal: number;
  /** `success`, or `error` when interrupted or failed (`message` says why). */
  exit: 'success' | 'error';
  message?: string;
  elapsedMs: number;
  probesSent: number;
}
