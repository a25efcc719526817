/**
 * `portolan listeners`: this host's (or, with `--ssh`, a remote host's) listening sockets, with
 * owning process and bind scope, printed and stored like any scan.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parseCount } from '../../core/duration.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import type { Observation, PortResult } from '../../core/model.js';
import { addReportOptions, ObservationOutputs } from '../observation-output.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { addFormatOptions, pickFormat, renderRows, type Column } from '../tabular.js';
import type { CliCommand, CliContext } from './index.js';

interface RawOptions {
  ssh?: string;
  identity?: string;
  port?: string;
  knownHosts?: string;
  acceptNewHostKey?: boolean;
  db?: string;
  store: boolean;
  format?: string;
  json?: boolean;
  csv?: boolean;
  [key: string]: unknown;
}

/** `user@host` for `--ssh`: the user is required (no guessing whose account to use). */
export function parseSshTarget(token: string): { user: string; host: string } {
  const at = token.lastIndexOf('@');
  const user = at > 0 ? token.slice(0, at) : '';
  let host = at > 0 ? token.slice(at + 1) : '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const okUser = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/.test(user);
  const okHost = isIP(host) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?$/.test(host);
  if (!okUser || !okHost) throw new UsageError('E_USAGE', `--ssh ${quoteToken(token)}: expected user@host (a user name and a host name or address)`, { token });
  return { user, host };
}

/** One listening socket as a table row. */
interface ListenerRow {
  protocol: string;
  address: string;
  port: number;
  scope: string;
  pid?: number;
  process?: string;
  user?: string;
  service?: string;
}

function rowsOf(obs: Observation): ListenerRow[] {
  return obs.host.ports.map((p: PortResult) => {
    const l = p.listener;
    const row: ListenerRow = { protocol: p.protocol, address: l?.bindAddress ?? obs.host.address, port: p.port, scope: l?.scope ?? '' };
    if (l?.pid !== undefined) row.pid = l.pid;
    if (l?.process !== undefined) row.process = l.process;
    if (l?.user !== undefined) row.user = l.user;
    if (p.service?.name !== undefined) row.service = p.service.name;
    return row;
  });
}

const COLUMNS: readonly Column<ListenerRow>[] = [
  { header: 'PROTO', value: (r) => r.protocol },
  { header: 'ADDRESS:PORT', value: (r) => `${r.address.includes(':') ? `[${r.address}]` : r.address}:${r.port}` },
  { header: 'SCOPE', value: (r) => r.scope },
  { header: 'PID/PROCESS', value: (r) => (r.pid === undefined && r.process === undefined ? undefined : `${r.pid ?? '?'}/${r.process ?? '?'}`) },
  { header: 'USER', value: (r) => r.user },
  { header: 'SERVICE', value: (r) => r.service ?? '' },
];

async function audit(o: RawOptions): Promise<Observation> {
  if (o.ssh === undefined) {
    for (const [flag, set] of [['-i', o.identity], ['--port', o.port], ['--known-hosts', o.knownHosts], ['--accept-new-host-key', o.acceptNewHostKey]] as const) {
      if (set !== undefined) throw new UsageError('E_USAGE', `${flag} needs --ssh user@host`);
    }
    const { auditLocal } = await import('../../listeners/local.js');
    return auditLocal();
  }
  const { user, host } = parseSshTarget(o.ssh);
  const port = o.port === undefined ? 22 : parseCount(o.port, '--port', 1, 65535);
  const { auditRemote } = await import('../../listeners/ssh.js');
  return auditRemote({
    host,
    port,
    username: user,
    ...(o.identity !== undefined && { privateKeyPath: o.identity }),
    ...(o.knownHosts !== undefined && { knownHostsPath: o.knownHosts }),
    acceptNewHostKey: o.acceptNewHostKey === true,
  });
}

/** Audit, print, store; resolves to the exit code. */
export async function runListeners(o: RawOptions, argv: readonly string[]): Promise<number> {
  const format = pickFormat(o);
  if (o.ssh !== undefined) parseSshTarget(o.ssh);
  const outputs = new ObservationOutputs(o);
  // Opened first, so a bad --db fails before anything connects anywhere.
  const store = o.store ? await openCliStore(o.db) : undefined;
  try {
    const startedAt = Date.now();
    const obs = await audit(o);
    if (store) {
      const ingest = await store.begin({ kind: 'listeners', source: obs.source, args: [...argv], startedAt });
      try {
        await ingest.add(obs);
        await ingest.commit({ endedAt: Date.now(), status: 'done' });
      } catch (err) {
        await ingest.rollback().catch(() => undefined);
        throw err;
      }
    }
    if (outputs.active) {
      outputs.begin(argv, [obs.host.address], startedAt);
      await outputs.host(obs.host);
      outputs.end();
    }
    if (!outputs.toStdout) {
      tolerateClosedStdout();
      const rows = rowsOf(obs).sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port || a.address.localeCompare(b.address));
      process.stdout.write(renderRows(format, COLUMNS, rows));
    }
    if (obs.packages !== undefined && obs.packages.length > 0) process.stderr.write(`portolan: ${obs.packages.length} installed packages recorded\n`);
    return 0;
  } finally {
    outputs.close();
    await store?.close();
  }
}

function defineListeners(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('listeners')
    .description("this host's listening TCP and UDP sockets with owning process and bind scope (or a remote host's with --ssh)")
    .option('--ssh <user@host>', 'audit a remote host over SSH (also records installed packages)')
    .option('-i, --identity <key>', 'private key file for --ssh (default: the SSH agent)')
    .option('--port <n>', 'SSH port for --ssh (default 22)')
    .option('--known-hosts <file>', 'known_hosts file that checks the host key (default ~/.ssh/known_hosts)')
    .option('--accept-new-host-key', 'trust and record the host key of a host not in known_hosts (a changed key is still refused)');
  addFormatOptions(cmd);
  addStoreOptions(cmd, true);
  addReportOptions(cmd);
  cmd.action(async (raw: RawOptions) => {
    ctx.setExitCode(await runListeners(raw, ctx.argv));
  });
}

export const listenersCommand: CliCommand = { register: defineListeners };
