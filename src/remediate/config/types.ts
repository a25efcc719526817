/**
 * Types for config patches: scripts that bind a service to loopback by editing its own config file
 * (Redis `bind`, PostgreSQL `listen_addresses`, MySQL/MariaDB `bind-address`, memcached `-l`, sshd
 * `ListenAddress`), with a backup of the file and a rollback that restores it byte for byte.
 */
import type { GeneratedScript } from '../types.js';

/** How the patched service is restarted so the change takes effect. */
export interface RestartSpec {
  /** `none`: the script only edits the file and says a restart is needed. */
  manager: 'systemd' | 'sysv' | 'none';
  /** Unit or init script name; default the backend's Debian name (`redis-server`). */
  name?: string;
}

/** What a config patch should achieve. */
export interface ConfigPatchSpec {
  /** The finding the change fixes; goes into the script header. */
  findingKey: string;
  /** The config file to patch (absolute path); default the backend's Debian path. */
  path?: string;
  /** Addresses the service should listen on; default loopback: 127.0.0.1 and ::1 where the service takes both. */
  listen?: string[];
  /** Default: systemd with the backend's unit name. */
  restart?: RestartSpec;
}

/** The scripts plus what the plan shows as the before/after config. */
export interface ConfigPatchScripts extends GeneratedScript {
  /** The validated config file path the scripts patch. */
  path: string;
  /** A short excerpt of a typical config before the change (the directive as a default install has it). */
  before: string;
  /** The same excerpt after the change. */
  after: string;
}

/** One service's config patch; registered once in `registry.ts`. */
export interface ConfigBackend {
  /** Stable id (`redis`, `postgresql`, `mysql`, `memcached`, `sshd`). */
  id: string;
  /** Human name (`Redis`). */
  label: string;
  /** Service names (nmap names and portolan service-kind ids) this backend patches. */
  services: readonly string[];
  /** The Debian config file path. */
  defaultPath: string;
  /** The Debian unit / init script name. */
  defaultUnit: string;
  /** One line for help text. */
  describe: string;
  /** Validate the spec (UsageError E_REMEDIATE on any bad field) and write the scripts. Deterministic. */
  build(spec: ConfigPatchSpec): ConfigPatchScripts;
}
