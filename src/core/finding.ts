/**
 * A finding: something on one host:port that an admin should look at, with its priority and the
 * reasons for it. Derived from services (ours, imported, from listener audits) by `src/assess/`,
 * kept in the store under a stable key so a re-scan updates it instead of adding another.
 */
import type { Protocol } from './model.js';

export type Tier = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** Tiers from the most to the least urgent. */
export const TIERS: readonly Tier[] = ['critical', 'high', 'medium', 'low', 'info'];

/** `exposure`: an open service; `vulnerability`: a CVE matched to it; `check`: a safe check that failed. */
export type FindingKind = 'exposure' | 'vulnerability' | 'check';

/** `accepted`: a risk the owner accepts (with a reason, until an expiry); `false-positive`: not true. */
export type FindingStatus = 'open' | 'fixed' | 'accepted' | 'false-positive';

export interface FindingReason {
  rule: string;
  text: string;
  weight: number;
}

export interface Finding {
  /** `address/protocol/port/kind[/ref]`: the same finding gets the same key on every run. */
  key: string;
  address: string;
  protocol: Protocol;
  port: number;
  kind: FindingKind;
  /** The CVE id or the safe check's id. */
  ref?: string;
  title: string;
  tier: Tier;
  score: number;
  reasons: FindingReason[];
  service?: { name: string; product?: string; version?: string; cpe?: string[] };
  /** For vulnerabilities. */
  cve?: { id: string; cvss?: number; kev?: boolean; epss?: number; confidence: 'confirmed' | 'banner-based'; summary?: string };
  status: FindingStatus;
  statusReason?: string;
  /** Epoch ms: an accepted risk counts as open again after this. */
  statusExpires?: number;
  firstSeen: number;
  lastSeen: number;
}

/** A finding as assessment makes it; the store adds status and first/last seen. */
export type FindingDraft = Omit<Finding, 'status' | 'statusReason' | 'statusExpires' | 'firstSeen' | 'lastSeen'>;

/** `address/protocol/port`: one port of one host, as findings, scans and the store's sets name it. */
export function portKey(p: { address: string; protocol: string; port: number }): string {
  return `${p.address}/${p.protocol}/${p.port}`;
}

/** The stable key of a finding. */
export function findingKey(address: string, protocol: Protocol, port: number, kind: FindingKind, ref?: string): string {
  return `${portKey({ address, protocol, port })}/${kind}${ref !== undefined && ref !== '' ? `/${ref}` : ''}`;
}

/** 0 for critical … 4 for info: sorts the most urgent first. */
export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier);
}
