// Types for detect-score.mjs (plain JS so the benchmark runs with bare `node`).

/** One port of nmap-format XML with its service fields (attributes absent in the XML are null). */
export interface ParsedPort {
  ip: string;
  port: number;
  state: string | null;
  name: string | null;
  product: string | null;
  version: string | null;
  extrainfo: string | null;
  tunnel: string | null;
  method: string | null;
  conf: number | null;
}

/** A port to score: the lab's ground truth (LabService / LabHostilePort fit). */
export interface TruthPort {
  address: string;
  port: number;
  /** null: nothing to identify; correct when the tool lists the port and claims nothing beyond a port-table guess. */
  service: string | null;
  product?: RegExp;
  version?: string;
  tunnel?: string | null;
}

export type Column = 'state' | 'service' | 'product' | 'version';
/** Per column: right, wrong, or null when the column does not apply to this port. */
export type PortScore = Record<Column, boolean | null>;

export interface Scored {
  ports: { truth: TruthPort; got: ParsedPort | null; score: PortScore }[];
  totals: Record<Column, { correct: number; total: number }>;
}

export declare const COLUMNS: readonly Column[];
export declare function parseServiceXml(xml: string): Map<string, ParsedPort>;
export declare function serviceMatches(truth: TruthPort, got: ParsedPort | null): boolean;
export declare function versionMatches(truth: TruthPort, got: ParsedPort | null): boolean;
export declare function scorePort(truth: TruthPort, got: ParsedPort | null): PortScore;
export declare function scoreTool(truth: readonly TruthPort[], parsed: Map<string, ParsedPort>): Scored;
export declare function describeGot(got: ParsedPort | null): string;
export declare function describeTruth(truth: TruthPort): string;
export declare function diffTable(tools: { label: string; scored: Scored }[], all?: boolean): string[];
