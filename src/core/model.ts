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
  cpe: string[];
  banner?: string;
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
