/**
 * The service-manager backends, one line each. Adding one is one new file plus one line here.
 */
import type { GeneratedScript } from '../types.js';
import { refuse, validateFindingKey } from '../validate.js';
import { systemdBackend } from './systemd.js';
import { sysvBackend } from './sysv.js';
import type { ServiceBackend, ServiceSpec } from './types.js';
import { windowsServiceBackend } from './windows.js';

/** Every service backend, in the order help text lists them. */
export const SERVICE_BACKENDS: readonly ServiceBackend[] = [systemdBackend, sysvBackend, windowsServiceBackend];

/** The service manager ids, in the order help text lists them. */
export const SERVICE_MANAGERS: readonly string[] = SERVICE_BACKENDS.map((b) => b.id);

/** The backend with this id, or undefined. */
export function serviceBackend(id: string): ServiceBackend | undefined {
  return SERVICE_BACKENDS.find((b) => b.id === id);
}

/** Validate the spec (UsageError on any bad field) and write the apply and rollback scripts. */
export function buildServiceScripts(spec: ServiceSpec): GeneratedScript {
  if (typeof spec !== 'object' || spec === null) refuse('service spec', spec, 'expected an object');
  const findingKey = validateFindingKey(spec.findingKey);
  const backend = typeof spec.manager === 'string' ? serviceBackend(spec.manager) : undefined;
  if (backend === undefined) refuse('service manager', spec.manager, `give ${SERVICE_MANAGERS.join(', ')}`);
  return backend.build(spec.name, findingKey);
}
