/** Types shared by the service-manager backends. */
import type { GeneratedScript } from '../types.js';

/** Which service manager a script targets. */
export type ServiceManager = string;

/** What to disable. */
export interface ServiceSpec {
  manager: ServiceManager;
  /** systemd unit, /etc/init.d script name, or Windows service name (not the display name). */
  name: string;
  /** The finding the change fixes; goes into the script header. */
  findingKey: string;
}


/** One service manager; registered once in `registry.ts`. */
export interface ServiceBackend {
  /** Stable id (`--service-manager systemd`). */
  id: ServiceManager;
  describe: string;
  /** Validate the name (UsageError) and write the scripts; the finding key is already validated. */
  build(name: unknown, findingKey: string): GeneratedScript;
}

