/**
 * The firewall backends, one line each. Adding a backend is one new file plus one line here.
 */
import { iptablesBackend } from './iptables.js';
import { firewalldBackend } from './firewalld.js';
import { nftablesBackend } from './nftables.js';
import { ufwBackend } from './ufw.js';
import { windowsBackend } from './windows.js';
import type { FirewallBackend } from '../types.js';

/** Every firewall backend, in the order help text lists them. */
export const FIREWALL_BACKENDS: readonly FirewallBackend[] = [iptablesBackend, nftablesBackend, ufwBackend, firewalldBackend, windowsBackend];

/** The backend with this id, or undefined. */
export function firewallBackend(id: string): FirewallBackend | undefined {
  return FIREWALL_BACKENDS.find((b) => b.id === id);
}
