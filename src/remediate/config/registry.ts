/**
 * The config-patch backends, one line each. Adding one is one new file plus one line here.
 */
import { memcachedConfigBackend } from './memcached.js';
import { mysqlConfigBackend } from './mysql.js';
import { postgresqlConfigBackend } from './postgresql.js';
import { redisConfigBackend } from './redis.js';
import { sshdConfigBackend } from './sshd.js';
import type { ConfigBackend } from './types.js';

/** Every config-patch backend, in the order help text lists them. */
export const CONFIG_BACKENDS: readonly ConfigBackend[] = [
  redisConfigBackend,
  postgresqlConfigBackend,
  mysqlConfigBackend,
  memcachedConfigBackend,
  sshdConfigBackend,
];

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
