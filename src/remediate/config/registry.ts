/**
 * The config-patch backends, one line each. Adding one is one new file plus one line here.
 */
import type { ConfigBackend } from './types.js';

/** Every config-patch backend, in the order help text lists them. */
export const CONFIG_BACKENDS: readonly ConfigBackend[] = [];

/** The backend with this id, or undefined. */
export function configBackend(id: string): ConfigBackend | undefined {
  return CONFIG_BACKENDS.find((b) => b.id === id);
}

/** The backend that patches this service (by nmap name or service-kind id), or undefined. */
export function configBackendForService(name: string | undefined): ConfigBackend | undefined {
  if (name === undefined) return undefined;
  const lower = name.toLowerCase();
  return CONFIG_BACKENDS.find((b) => b.services.includes(lower));
}
