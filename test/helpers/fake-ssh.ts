/**
 * An in-process SSH server on 127.0.0.1 for the remote listener audit's unit tests: real protocol
 * (ssh2's Server), one accepted client key, and canned answers per exec command. It records every
 * command and authentication attempt, so tests can prove nothing was sent before the host key check.
 */
import type { AddressInfo } from 'node:net';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';

/** What a command answers: stdout, exit code, and optionally a delay or a stream that never ends. */
export interface CannedAnswer {
  stdout?: string | Buffer;
  code?: number;
  /** Never exit (tests the per-command deadline). */
  hang?: boolean;
}

export interface FakeSshOptions {
  /** Private host key (OpenSSH format). */
  hostKey: string;
  /** The one client public key accepted (OpenSSH `ssh-ed25519 AAAA…` line). */
  clientPublicKey: string;
  answers: Record<string, CannedAnswer | ((command: string) => CannedAnswer)>;
  /** Refuse a session channel when this many are already open (a low MaxSessions). */
  maxSessions?: number;
}

export interface FakeSsh {
  port: number;
  /** Every exec command, in order. */
  commands: string[];
  /** Authentication methods tried (including `none`). */
  authAttempts: string[];
  /** Most session channels open at once. */
  peakSessions: number;
  close(): Promise<void>;
}

/** Generate a key pair in OpenSSH format (ssh2's own generator: no ssh-keygen needed). */
export function keyPair(passphrase?: string): { private: string; public: string } {
  const kp = passphrase === undefined
    ? ssh2.utils.generateKeyPairSync('ed25519')
    : ssh2.utils.generateKeyPairSync('ed25519', { passphrase, cipher: 'aes256-ctr', rounds: 16 });
  return { private: kp.private, public: kp.public };
}

/** The SSH wire-format blob of an OpenSSH public key line. */
export function publicBlob(publicKey: string): Buffer {
  const parsed = ssh2.utils.parseKey(publicKey);
  if (parsed instanceof Error) throw parsed;
  return parsed.getPublicSSH();
}

export async function startFakeSsh(o: FakeSshOptions): Promise<FakeSsh> {
  const allowed = ssh2.utils.parseKey(o.clientPublicKey);
  if (allowed instanceof Error) throw allowed;
  const state: FakeSsh = { port: 0, commands: [], authAttempts: [], peakSessions: 0, close: () => Promise.resolve() };
  const clients = new Set<Connection>();
  let open = 0;

  const server = new ssh2.Server({ hostKeys: [o.hostKey] }, (client) => {
    clients.add(client);
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      state.authAttempts.push(ctx.method);
      if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) {
        ctx.reject(['publickey']);
        return;
      }
      if (ctx.signature !== undefined && (ctx.blob === undefined || allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)) {
        ctx.reject(['publickey']);
        return;
      }
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept, reject) => {
        if (o.maxSessions !== undefined && open >= o.maxSessions) {
          reject();
          return;
        }
        open++;
        state.peakSessions = Math.max(state.peakSessions, open);
        const session = accept();
        let closed = false;
        const closeOne = (): void => {
          if (!closed) {
            closed = true;
            open--;
          }
        };
        session.on('close', closeOne);
        session.on('exec', (acceptExec, _rejectExec, info) => {
          state.commands.push(info.command);
          const stream: ServerChannel = acceptExec();
          stream.on('close', closeOne);
          stream.on('error', () => undefined);
          const entry = o.answers[info.command];
          const answer: CannedAnswer = entry === undefined ? { stdout: '', code: 127 } : typeof entry === 'function' ? entry(info.command) : entry;
          if (answer.hang === true) return;
          const body = answer.stdout ?? '';
          const finish = (): void => {
            stream.exit(answer.code ?? 0);
            stream.end();
            closeOne();
          };
          // Respect flow control: a big answer goes out as the window allows.
          const buf = typeof body === 'string' ? Buffer.from(body) : body;
          let at = 0;
          const pump = (): void => {
            while (at < buf.length) {
              const chunk = buf.subarray(at, at + 65536);
              at += chunk.length;
              if (!stream.write(chunk)) {
                stream.once('drain', pump);
                return;
              }
            }
            finish();
          };
          pump();
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => {
    for (const c of clients) c.end();
    server.close(() => resolve());
  });
  return state;
}
