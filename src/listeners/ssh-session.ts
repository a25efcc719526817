/**
 * One SSH connection for the remote listener audit: host key checked against known_hosts before
 * anything is sent, key or agent authentication, and read-only commands whose output is capped.
 * Every failure the user can act on is a UsageError with a stable code (E_SSH_*).
 */
import { readFileSync, statSync } from 'node:fs';
import ssh2, { type Client, type ConnectConfig, type ClientChannel, type ServerHostKeyAlgorithm } from 'ssh2';
import { UsageError, quoteToken } from '../core/errors.js';
import {
  appendKnownHost, blobKeyType, checkHostKey, fingerprint, formatKnownHostsLine, knownHostName,
  preferredHostKeyAlgorithms, type KnownHostEntry,
} from './known-hosts.js';

// ssh2 is CommonJS: Node's ESM loader only sees some of its exports as named ones (not `utils`).

/** Largest private key file read (an RSA-16384 key in PEM is ~13 KiB). */
const MAX_KEY_BYTES = 1024 * 1024;
/** Commands run at once on one connection (OpenSSH's MaxSessions defaults to 10). */
const SESSION_CHANNELS = 4;
/** stderr kept per command, for the error message only. */
const MAX_STDERR_BYTES = 4096;

/** How to reach and authenticate to the remote host. */
export interface SessionOptions {
  /** The host as the user named it: the known_hosts lookup uses this. */
  host: string;
  /** The address actually connected to. */
  address: string;
  port: number;
  username: string;
  privateKeyPath?: string;
  /** ssh-agent socket path. */
  agent?: string;
  knownHostsPath: string;
  knownHosts: readonly KnownHostEntry[];
  acceptNewHostKey: boolean;
  /** Epoch ms by which everything (connect, auth, commands) must be done. */
  deadline: number;
}

/** What a remote command printed, cut to the kept lines. */
export interface CommandResult {
  /** Exit status, or null when the command died of a signal or the server sent none. */
  code: number | null;
  stdout: string;
  /** The start of stderr, for messages. */
  stderr: string;
}

/** Limits for one remote command. */
export interface RunLimits {
  /** Most bytes of stdout kept (after `keep`); more aborts the audit. */
  maxBytes: number;
  /** Most bytes of stdout read in all (lines `keep` drops included); more aborts the audit. */
  maxTotalBytes?: number;
  /** Keep only the lines this accepts (index 0 is the first line); all lines when absent. */
  keep?: (line: string, index: number) => boolean;
  /** Longest line accepted when `keep` is used; a longer one aborts the audit. */
  maxLineBytes?: number;
}

/** Read a passphrase-less private key file; an encrypted one is refused with a pointer to ssh-agent. */
export function loadPrivateKey(path: string): Buffer {
  let data: Buffer;
  try {
    if (statSync(path).size > MAX_KEY_BYTES) throw new UsageError('E_SSH_KEY', `-i ${quoteToken(path)}: not a private key (larger than 1 MiB)`);
    data = readFileSync(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('E_SSH_KEY', `-i ${quoteToken(path)}: cannot read the key (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { token: path });
  }
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    const why = /passphrase/i.test(parsed.message)
      ? 'the key is passphrase-protected; load it into ssh-agent (ssh-add) and run without -i'
      : 'not a private key ssh2 can read (OpenSSH, PEM or PuTTY format)';
    throw new UsageError('E_SSH_KEY', `-i ${quoteToken(path)}: ${why}`, { token: path });
  }
  if (!parsed.isPrivateKey()) throw new UsageError('E_SSH_KEY', `-i ${quoteToken(path)}: this is a public key; pass the private key file`, { token: path });
  return data;
}

/** `host` or `[host]:port`, as ssh prints it; the host was validated to printable characters. */
function shown(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The error for a host key known_hosts does not vouch for, or null with a line to append (accept-new). */
function judgeHostKey(o: SessionOptions, key: Buffer): { error: UsageError } | { append: string | null } {
  const type = blobKeyType(key);
  const name = shown(o.host, o.port);
  const file = quoteToken(o.knownHostsPath);
  if (type === null) return { error: new UsageError('E_SSH_HOSTKEY', `${name} sent a malformed host key; nothing was sent`) };
  const fp = fingerprint(key);
  const verdict = checkHostKey(o.knownHosts, o.host, o.port, key);
  switch (verdict.status) {
    case 'known':
      return { append: null };
    case 'revoked':
      return { error: new UsageError('E_SSH_HOSTKEY_REVOKED', `REVOKED HOST KEY for ${name}: ${type} ${fp} is marked @revoked in ${file} line ${verdict.line}; connection refused, nothing was sent`) };
    case 'mismatch': {
      const old = verdict.expected.slice(0, 3).map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`).join(', ');
      return {
        error: new UsageError(
          'E_SSH_HOSTKEY_MISMATCH',
          `HOST KEY MISMATCH for ${name}: it presented ${type} ${fp}, but ${file} has ${old}. Someone may be intercepting the ` +
            `connection, or the host was reinstalled; nothing was sent. If the change is expected, remove the old entry ` +
            `(ssh-keygen -R ${knownHostName(o.host, o.port)} -f ${file}) and check the new key with the host's administrator`,
        ),
      };
    }
    case 'unknown':
      if (o.acceptNewHostKey) return { append: formatKnownHostsLine(o.host, o.port, key) };
      return {
        error: new UsageError(
          'E_SSH_HOSTKEY',
          `unknown host key for ${name} (fingerprint ${fp}, ${type}); verify it and add it to known_hosts (${file}), or pass --accept-new-host-key`,
        ),
      };
  }
}

/** Map an ssh2 connection error to what the user should be told. */
function connectError(o: SessionOptions, err: Error & { level?: string; code?: string }, tried: string): UsageError {
  const name = shown(o.host, o.port);
  if (err.level === 'client-authentication') {
    return new UsageError('E_SSH_AUTH', `authentication as ${quoteToken(o.username)} on ${name} failed (tried ${tried}); check that the key is in that user's authorized_keys`);
  }
  if (err.level === 'client-timeout') return new UsageError('E_SSH_TIMEOUT', `${name}: no SSH handshake within the time limit`);
  const code = typeof err.code === 'string' ? err.code : err.message.slice(0, 200);
  return new UsageError('E_SSH_CONNECT', `cannot connect to ${name} (${o.address} port ${o.port}): ${code.replace(/[^\x20-\x7e]/g, '?')}`);
}

/** A connected, authenticated session that runs read-only commands. */
export class RemoteSession {
  readonly #client: Client;
  readonly #deadline: number;
  #limit = SESSION_CHANNELS;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  private constructor(client: Client, deadline: number) {
    this.#client = client;
    this.#deadline = deadline;
  }

  /** Connect, check the host key, authenticate. Rejects with a UsageError (E_SSH_*). */
  static open(o: SessionOptions): Promise<RemoteSession> {
    const privateKey = o.privateKeyPath === undefined ? undefined : loadPrivateKey(o.privateKeyPath);
    if (privateKey === undefined && o.agent === undefined) {
      return Promise.reject(new UsageError('E_SSH_AUTH', 'no SSH credentials: pass -i KEY, or start ssh-agent (SSH_AUTH_SOCK is not set)'));
    }
    const methods: ('publickey' | 'agent')[] = [];
    if (privateKey !== undefined) methods.push('publickey');
    if (o.agent !== undefined) methods.push('agent');
    const tried = [privateKey !== undefined ? `key ${quoteToken(o.privateKeyPath ?? '')}` : '', o.agent !== undefined ? 'ssh-agent' : ''].filter(Boolean).join(' and ');
    const remaining = Math.max(1, o.deadline - Date.now());

    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let hostKeyError: UsageError | null = null;
      let pendingLine: string | null = null;
      let settled = false;
      const finish = (err: UsageError | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === null) {
          resolve(new RemoteSession(client, o.deadline));
        } else {
          client.destroy();
          reject(err);
        }
      };
      const timer = setTimeout(() => finish(new UsageError('E_SSH_TIMEOUT', `${shown(o.host, o.port)}: no SSH session within ${remaining} ms`)), remaining);

      client.on('handshake', () => {
        // Only now has the server proved it holds the key (the exchange signature is checked after hostVerifier).
        if (pendingLine === null) return;
        try {
          appendKnownHost(o.knownHostsPath, pendingLine);
        } catch (err) {
          finish(new UsageError('E_SSH_HOSTKEY', `cannot add the host key to ${quoteToken(o.knownHostsPath)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`));
        }
        pendingLine = null;
      });
      client.on('ready', () => finish(null));
      client.on('error', (err: Error & { level?: string; code?: string }) => finish(hostKeyError ?? connectError(o, err, tried)));
      client.on('close', () => finish(hostKeyError ?? new UsageError('E_SSH_CONNECT', `${shown(o.host, o.port)} closed the connection during the handshake`)));

      const config: ConnectConfig = {
        host: o.address,
        port: o.port,
        username: o.username,
        readyTimeout: remaining,
        algorithms: { serverHostKey: preferredHostKeyAlgorithms(o.knownHosts, o.host, o.port) as ServerHostKeyAlgorithm[] },
        authHandler: methods,
        hostVerifier: (key: Buffer): boolean => {
          const verdict = judgeHostKey(o, key);
          if ('error' in verdict) {
            hostKeyError = verdict.error;
            return false;
          }
          pendingLine = verdict.append;
          return true;
        },
      };
      if (privateKey !== undefined) config.privateKey = privateKey;
      if (o.agent !== undefined) config.agent = o.agent;
      try {
        client.connect(config);
      } catch (err) {
        finish(new UsageError('E_SSH_CONNECT', `cannot start the SSH connection: ${(err as Error).message.slice(0, 200)}`));
      }
    });
  }

  /**
   * Run one fixed, read-only command; output beyond the limits aborts with E_SSH_OUTPUT. Up to
   * SESSION_CHANNELS commands run at once (each costs the server a fork and a shell, ~0.2 s); a
   * server whose MaxSessions is lower refuses a channel, and then we run fewer at a time.
   */
  async run(command: string, limits: RunLimits): Promise<CommandResult> {
    for (;;) {
      await this.#acquire();
      try {
        return await this.#exec(command, limits);
      } catch (err) {
        if (!(err instanceof ChannelRefused)) throw err;
        // Others still running: the server's session limit, not a refusal of this command.
        if (this.#active > 1) {
          this.#limit = Math.max(1, this.#active - 1);
          continue;
        }
        throw new UsageError('E_SSH_REMOTE', `the server refused to run ${quoteToken(command)}: ${err.message.slice(0, 200)}`);
      } finally {
        this.#release();
      }
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.#limit) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(() => {
      this.#active++;
      resolve();
    }));
  }

  #release(): void {
    this.#active--;
    while (this.#active < this.#limit && this.#waiting.length > 0) this.#waiting.shift()?.();
  }

  #exec(command: string, limits: RunLimits): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const remaining = this.#deadline - Date.now();
      if (remaining <= 0) {
        reject(new UsageError('E_SSH_TIMEOUT', `time limit reached before running ${quoteToken(command)}`));
        return;
      }
      let channel: ClientChannel | null = null;
      let settled = false;
      const collector = new LineKeeper(limits);
      const stderr: Buffer[] = [];
      let stderrBytes = 0;
      let code: number | null = null;
      const done = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== null) {
          channel?.destroy();
          reject(err);
          return;
        }
        resolve({ code, stdout: collector.text(), stderr: Buffer.concat(stderr).toString('utf8') });
      };
      const timer = setTimeout(() => done(new UsageError('E_SSH_TIMEOUT', `remote command ${quoteToken(command)} did not finish within the time limit`)), remaining);
      const onChannel = (err: Error | undefined, ch: ClientChannel): void => {
        if (err) {
          done(new ChannelRefused(err.message));
          return;
        }
        channel = ch;
        ch.on('data', (chunk: Buffer) => {
          const problem = collector.push(chunk);
          if (problem !== null) done(new UsageError('E_SSH_OUTPUT', `remote command ${quoteToken(command)} ${problem}; audit aborted`));
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          if (stderrBytes < MAX_STDERR_BYTES) stderr.push(chunk.subarray(0, MAX_STDERR_BYTES - stderrBytes));
          stderrBytes += chunk.length;
        });
        ch.on('exit', (c: number | null) => {
          code = typeof c === 'number' ? c : null;
        });
        ch.on('close', () => {
          const problem = collector.end();
          done(problem === null ? null : new UsageError('E_SSH_OUTPUT', `remote command ${quoteToken(command)} ${problem}; audit aborted`));
        });
      };
      try {
        this.#client.exec(command, onChannel);
      } catch (err) {
        // ssh2 throws synchronously when the connection is already gone.
        done(new UsageError('E_SSH_CONNECT', `connection lost before running ${quoteToken(command)}: ${(err as Error).message.slice(0, 200)}`));
      }
    });
  }

  /** Close the connection. */
  close(): void {
    this.#client.end();
  }
}

/** The server would not open a channel (its MaxSessions, or a forced command). */
class ChannelRefused extends Error {}

/** Collects stdout within the limits, optionally keeping only some lines, without holding more than it keeps. */
class LineKeeper {
  readonly #limits: RunLimits;
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  #totalBytes = 0;
  #partial: Buffer = Buffer.alloc(0);
  #index = 0;

  constructor(limits: RunLimits) {
    this.#limits = limits;
  }

  /** Add a chunk; returns why the output is refused, or null. */
  push(chunk: Buffer): string | null {
    this.#totalBytes += chunk.length;
    const keep = this.#limits.keep;
    if (keep === undefined) {
      this.#keptBytes += chunk.length;
      if (this.#keptBytes > this.#limits.maxBytes) return `printed more than ${this.#limits.maxBytes} bytes`;
      this.#kept.push(chunk);
      return null;
    }
    if (this.#totalBytes > (this.#limits.maxTotalBytes ?? this.#limits.maxBytes)) return `printed more than ${this.#limits.maxTotalBytes ?? this.#limits.maxBytes} bytes`;
    let buf = this.#partial.length > 0 ? Buffer.concat([this.#partial, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      const problem = this.#line(buf.subarray(0, nl + 1));
      if (problem !== null) return problem;
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > (this.#limits.maxLineBytes ?? 64 * 1024)) return 'printed an over-long line';
    this.#partial = Buffer.from(buf);
    return null;
  }

  /** The output ended; a last line without newline is judged like the others. */
  end(): string | null {
    if (this.#limits.keep === undefined || this.#partial.length === 0) return null;
    const last = this.#partial;
    this.#partial = Buffer.alloc(0);
    return this.#line(last);
  }

  #line(raw: Buffer): string | null {
    if (raw.length > (this.#limits.maxLineBytes ?? 64 * 1024)) return 'printed an over-long line';
    const keep = this.#limits.keep;
    if (keep !== undefined && !keep(raw.toString('latin1').replace(/\r?\n$/, ''), this.#index++)) return null;
    this.#keptBytes += raw.length;
    if (this.#keptBytes > this.#limits.maxBytes) return `printed more than ${this.#limits.maxBytes} bytes of matching lines`;
    this.#kept.push(Buffer.from(raw));
    return null;
  }

  text(): string {
    return Buffer.concat(this.#kept).toString('utf8');
  }
}
