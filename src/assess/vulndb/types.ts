/**
 * Vulnerability data types shared by the NVD importer (`nvd.ts`) and the CPE matcher
 * (`cpe-match.ts`). They mirror the `configurations` part of an NVD CVE API 2.0 record, kept
 * plain (no classes, no methods) so parsed JSON can be stored and matched as is.
 */

/** One `cpeMatch` entry of an NVD configuration node. */
export interface CpeMatch {
  /** True when this CPE is the vulnerable thing; false when it only describes a platform or a required companion. */
  vulnerable: boolean;
  /** A CPE 2.3 formatted string; fields may be `*` (any), `-` (not applicable), hold `*`/`?` wildcards at either end, or backslash escapes. */
  criteria: string;
  /** Version range bounds, used with criteria version `*`; plain version strings (not CPE-escaped). */
  versionStartIncluding?: string;
  versionStartExcluding?: string;
  versionEndIncluding?: string;
  versionEndExcluding?: string;
}

/** A node: its `cpeMatch` entries joined by `operator`, the result inverted when `negate` is set. */
export interface ConfigNode {
  operator: 'AND' | 'OR';
  negate?: boolean;
  cpeMatch: CpeMatch[];
}

/**
 * One configuration of a CVE: its nodes joined by `operator` (OR when absent, which NVD does for a
 * single node). A CVE applies when any of its configurations does. The usual two-node form is
 * `[vulnerable application] AND [platform it runs on, vulnerable: false]`.
 */
export interface Configuration {
  operator?: 'AND' | 'OR';
  negate?: boolean;
  nodes: ConfigNode[];
}

/** Orders two version strings: negative, zero or positive, as `Array.prototype.sort` expects. */
export type VersionCompare = (a: string, b: string) => number;

/** What we know about the service being matched. */
export interface ProductCpes {
  /** The service's CPE 2.3 names (2.2 URIs such as nmap's `cpe:/a:…` are converted). */
  cpes: string[];
  /** The host's OS (and hardware) CPEs, when known; absent or empty means unknown. */
  platform?: string[];
}

/** A CVE configuration that matched a service. */
export interface CveMatch {
  /** The `criteria` of the vulnerable cpeMatch entry that matched. */
  criteria: string;
  /** False when the match depends on something we do not know (the platform, an update level…). */
  certain: boolean;
  /** Why it matched, or, when uncertain, what is not known (`platform not known`). */
  why: string;
}
