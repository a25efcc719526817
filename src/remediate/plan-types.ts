/**
 * The remediation plan as data: what `plan.ts` builds from a finding and what the plan renderers in
 * `src/report/plan-*.ts` turn into Markdown, HTML or JSON. Text fields are plain text (renderers
 * escape them); code blocks are verbatim.
 */
import type { Finding } from '../core/finding.js';

/** The ways a finding can be fixed. */
export type RemediationOptionId = 'block' | 'allowlist' | 'bind-loopback' | 'disable' | 'upgrade';

/** A script pair the plan ships (written next to the plan by `portolan remediate -o DIR`). */
export interface PlanScript {
  /** Backend id (`nftables`, `systemd`, `redis`, …). */
  backend: string;
  /** File name of the apply script (`apply-nftables.sh`, `apply-windows.ps1`). */
  applyName: string;
  /** File name of the rollback script. */
  rollbackName: string;
  apply: string;
  rollback: string;
}

/** One way to fix the finding. */
export interface RemediationOption {
  id: RemediationOptionId;
  /** Short title (`Restrict port 6379 to allowed sources`). */
  title: string;
  /** Why this option fits (or does not fit) this finding, from its reasons. */
  rationale: string;
  recommended: boolean;
  /** False when the option cannot be scripted here (no backend for the service, no fixed version known, …). */
  available: boolean;
  /** Scripts for this option, when it is scriptable. */
  scripts: PlanScript[];
}

/** A piece of a section. */
export type PlanBlock =
  | { kind: 'text'; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'code'; lang: 'sh' | 'powershell' | 'conf' | 'yaml' | 'text'; title?: string; text: string }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'links'; items: { title: string; url: string }[] };

/** The eight sections every plan has, in this order. */
export type PlanSectionId = 'introduction' | 'technical' | 'detection' | 'solution' | 'verification' | 'prevention' | 'risks' | 'references';

export const PLAN_SECTION_IDS: readonly PlanSectionId[] = ['introduction', 'technical', 'detection', 'solution', 'verification', 'prevention', 'risks', 'references'];

export interface PlanSection {
  id: PlanSectionId;
  title: string;
  /** Optional sub-headings: a section is a list of titled parts (a part with no title continues the section). */
  parts: { title?: string; blocks: PlanBlock[] }[];
}

/** A remediation plan for one finding. */
export interface RemediationPlan {
  /** Plan format version for JSON consumers. */
  version: 1;
  finding: Pick<Finding, 'key' | 'address' | 'protocol' | 'port' | 'kind' | 'ref' | 'title' | 'tier' | 'score' | 'reasons' | 'service' | 'cve' | 'status'>;
  /** One-line headline (`Redis on 198.18.0.5:6379 answers without authentication from the internet`). */
  title: string;
  /** The option the plan recommends. */
  recommended: RemediationOptionId;
  options: RemediationOption[];
  /** Exactly PLAN_SECTION_IDS, in order. */
  sections: PlanSection[];
  /** Epoch ms when the plan was written (renderers print it; tests pass a fixed clock). */
  generatedAt: number;
}

/** Another service on the same host: the smoke test checks it still answers after the fix. */
export interface HostService {
  protocol: 'tcp' | 'udp';
  port: number;
  name?: string;
  product?: string;
  /** True when the policy allows it on this host. */
  allowed?: boolean;
}

/** A version that fixes the finding's CVE, from the vulnerability data (plain text; never put into a command unvalidated). */
export interface PlanFix {
  /** `debian`: a Debian package version; `upstream`: the vendor's release. */
  source: 'debian' | 'upstream';
  /** Debian source package or product name (`openssh`). */
  package: string;
  /** The first fixed version (`1:9.2p1-2+deb12u3`, `9.8p1`). */
  version: string;
  /** The Debian codename the version applies to (`bookworm`). */
  release?: string;
}

/** What the plan builder needs besides the finding. */
export interface PlanInput {
  finding: Finding;
  /** The host's other open services (not the finding's port). */
  hostServices: HostService[];
  /** Allowed sources from the policy for this service, if the policy names any. */
  policyAllowFrom?: string[];
  /** The policy's zone for this host (`internet`, `dmz`, `internal`), if any. */
  zone?: string;
  /** An installed package version from an SSH audit, if known (`openssh-server 1:9.2p1-2+deb12u2`). */
  installedPackage?: { name: string; version: string };
  /** Fixed versions of the finding's CVE, when the vulnerability data knows them; without it the built-in data is consulted. */
  fixes?: PlanFix[];
  /** Epoch ms for `generatedAt`. */
  now: number;
}

/** Choices the user makes on the command line. */
export interface PlanChoices {
  /** Firewall backend id (`nftables`, `iptables`, `ufw`, `firewalld`, `windows`); default nftables. */
  firewall: string;
  /** Service manager id (`systemd`, `sysv`, `windows`); default systemd (windows when the firewall is windows). */
  serviceManager: string;
  /** `allowlist` needs allowFrom (or the policy's sources); default: allowlist when sources are known, else block. */
  mode?: 'block' | 'allowlist';
  allowFrom?: string[];
  /** Limit firewall rules to one inbound interface. */
  iface?: string;
}
