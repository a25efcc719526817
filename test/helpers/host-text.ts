/**
 * Shared by the host-text importer tests (ss, Linux netstat, Windows netstat): how a file's
 * listeners are summed up, the listening sockets test/fixtures/ss/sockets.py opens, and the check
 * that a bad file fails with an ImportError.
 */
import { expect } from 'vitest';
import type { ListenerInfo, Observation, PortResult, Protocol } from '../../src/core/model.js';
import { ImportError } from '../../src/import/errors.js';
import type { Importer } from '../../src/import/types.js';
import { importBytes } from './import.js';

/** One line a listener: `protocol bind-address port scope owner`, where owner is the process name or the pid (`-` when unknown). */
export function listenerSummary(o: Observation | undefined, owner: 'process' | 'pid' = 'process'): string[] {
  return (o?.host.ports ?? []).map((p) => `${p.protocol} ${p.listener?.bindAddress} ${p.port} ${p.listener?.scope} ${p.listener?.[owner] ?? '-'}`);
}

/** The port an importer makes of one listening socket, named from the port table. */
export function tableListenerPort(protocol: Protocol, port: number, service: string, listener: ListenerInfo): PortResult {
  return { protocol, port, state: 'open', reason: 'syn-ack', tries: 0, service: { name: service, method: 'table', confidence: 3, cpe: [] }, listener };
}

/** The listeners sockets.py opens in `many` mode, as {@link listenerSummary} writes them from ss output. */
export const SOCKETS_PY_MANY_SS: readonly string[] = [
  'tcp 0.0.0.0 22 all python3',
  'tcp :: 22 all python3',
  'tcp 192.0.2.10 80 specific python3',
  'tcp 2001:db8::10 443 specific python3',
  'tcp 127.0.0.2 5432 loopback python3',
  'tcp 127.0.0.1 8001 loopback python3',
  'tcp 0.0.0.0 8002 all python3',
  'tcp * 8003 all python3',
  'tcp ::1 8004 loopback python3',
  'tcp ::ffff:127.0.0.1 8005 loopback python3',
  'tcp 192.0.2.10 8080 specific python3',
  'tcp 0.0.0.0 8443 all python3',
  'tcp 0.0.0.0 9000 all python3',
  'udp 127.0.0.53%lo 53 loopback python3',
  'udp 0.0.0.0%dum0 67 specific python3',
  'udp * 123 all python3',
  'udp 0.0.0.0 5353 all python3',
  'udp :: 5353 all python3',
];

/** Where net-tools netstat shows those sockets otherwise: neither `%dev` nor ss's `*`, and ::ffff:127.0.0.1 as 127.0.0.1. */
const NETSTAT_VIEW: Readonly<Record<string, string>> = {
  'tcp * 8003 all python3': 'tcp :: 8003 all python3',
  'tcp ::ffff:127.0.0.1 8005 loopback python3': 'tcp 127.0.0.1 8005 loopback python3',
  'udp 127.0.0.53%lo 53 loopback python3': 'udp 127.0.0.53 53 loopback python3',
  'udp 0.0.0.0%dum0 67 specific python3': 'udp 0.0.0.0 67 all python3',
  'udp * 123 all python3': 'udp :: 123 all python3',
};

/** The same listeners as {@link listenerSummary} writes them from netstat output of the same moment. */
export const SOCKETS_PY_MANY_NETSTAT: readonly string[] = SOCKETS_PY_MANY_SS.map((l) => NETSTAT_VIEW[l] ?? l);

/** A check that importing `data` (as file `bad.txt`) fails with an ImportError whose message matches `pattern`. */
export function importFails(importer: Importer): (data: string | Buffer, pattern: RegExp) => Promise<void> {
  return async (data, pattern) => {
    const err = await importBytes(importer, data, 'bad.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as ImportError).message).toMatch(pattern);
    expect((err as ImportError).code).toBe('E_IMPORT');
  };
}
