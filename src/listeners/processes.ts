/**
 * Which process owns a socket: walk /proc/PID/fd for links `socket:[inode]`, then name the process
 * from /proc/PID/comm and its user from the effective uid in /proc/PID/status and /etc/passwd.
 *
 * Processes come and go while we look, and some are not ours to read: ENOENT, ESRCH, EACCES and
 * friends skip that process or fd, never fail the audit. The walk is bounded (processes, fds per
 * process, fds in all) so a machine with a million fds costs a known amount.
 */
import { open, readdir, readlink, type FileHandle } from 'node:fs/promises';

/** Owner of one socket inode. */
export interface SocketOwner {
  pid: number;
  /** `comm`: the kernel's name for the process (≤ 15 bytes), as written. */
  process?: string;
  uid?: number;
  user?: string;
}

export interface OwnerOptions {
  /** Where procfs is mounted (tests point this at a fake tree). */
  procRoot?: string;
  passwdPath?: string;
  /** Most processes examined (default 65 536). */
  maxProcesses?: number;
  /** Most fds examined in one process (default 1 048 576, the default hard nofile limit). */
  maxFdsPerProcess?: number;
  /** Most fds examined in all (default 4 194 304). */
  maxFds?: number;
  /** Processes examined at once. */
  concurrency?: number;
  /** uid → name, when the caller has read it already (default: read `passwdPath`). */
  users?: ReadonlyMap<number, string>;
}

const SOCKET_LINK_RE = /^socket:\[(\d{1,20})\]$/;
const MAX_SMALL_FILE = 64 * 1024;
const MAX_PASSWD = 16 * 1024 * 1024;
/** fd links read at once within one process. */
const READLINK_BATCH = 64;

/**
 * The first `max` bytes of a file as text, or undefined when it cannot be read (gone, not ours, not
 * there). Read in pieces rather than by size: procfs files report a size of 0.
 */
export async function readBounded(path: string, max = MAX_SMALL_FILE): Promise<string | undefined> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < max) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, max - total));
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Effective uid from /proc/PID/status (`Uid:\treal\teffective\tsaved\tfs`): the rights the process runs with. */
export function parseStatusUid(status: string): number | undefined {
  const m = /^Uid:\s+\d+\s+(\d{1,10})\b/m.exec(status);
  if (!m) return undefined;
  const uid = Number(m[1]);
  return uid <= 0xffffffff ? uid : undefined;
}

/** uid → user name from /etc/passwd text; the first entry for a uid wins, as getpwuid's does. */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    const name = fields[0] ?? '';
    const uidText = fields[2] ?? '';
    if (fields.length < 4 || !/^[A-Za-z0-9._][A-Za-z0-9._$-]{0,63}$/.test(name) || !/^\d{1,10}$/.test(uidText)) continue;
    const uid = Number(uidText);
    if (!users.has(uid)) users.set(uid, name);
  }
  return users;
}

/** The user table of this machine (empty when /etc/passwd cannot be read). */
export async function readUsers(passwdPath = '/etc/passwd'): Promise<Map<number, string>> {
  const text = await readBounded(passwdPath, MAX_PASSWD);
  return text === undefined ? new Map() : parsePasswd(text);
}

/** `comm` without its newline; undefined when empty or unreadable. */
function commOf(text: string | undefined): string | undefined {
  const t = text?.replace(/\n$/, '');
  return t === undefined || t.length === 0 ? undefined : t.slice(0, 64);
}

/**
 * Owners of the given socket inodes. A socket held by several processes (forked workers, a parent
 * that passed it down) is credited to the lowest pid, usually the parent that opened it. Inodes
 * nobody holds (or held by processes we may not look into) are absent from the map.
 */
export async function findSocketOwners(inodes: ReadonlySet<number>, options: OwnerOptions = {}): Promise<Map<number, SocketOwner>> {
  const proc = options.procRoot ?? '/proc';
  const maxProcesses = options.maxProcesses ?? 65_536;
  const maxFdsPerProcess = options.maxFdsPerProcess ?? 1_048_576;
  let fdBudget = options.maxFds ?? 4_194_304;
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const owners = new Map<number, SocketOwner>();
  if (inodes.size === 0) return owners;

  let entries: string[];
  try {
    entries = await readdir(proc);
  } catch {
    return owners;
  }
  const pids = entries
    .filter((e) => /^\d{1,10}$/.test(e))
    .map(Number)
    .sort((a, b) => a - b)
    .slice(0, maxProcesses);
  const users = options.users ?? (await readUsers(options.passwdPath));

  /** Inodes of interest this process holds. */
  async function socketsOf(pid: number): Promise<number[]> {
    let fds: string[];
    try {
      fds = await readdir(`${proc}/${pid}/fd`);
    } catch {
      return [];
    }
    // Lowest fds first: a server opens its listening sockets early, and the bounds cut the tail.
    fds.sort((a, b) => Number(a) - Number(b));
    const take = Math.min(fds.length, maxFdsPerProcess, Math.max(0, fdBudget));
    fdBudget -= take;
    const found: number[] = [];
    const one = async (fd: string): Promise<void> => {
      let target: string;
      try {
        target = await readlink(`${proc}/${pid}/fd/${fd}`);
      } catch {
        return; // closed since readdir, or not ours to read
      }
      const m = SOCKET_LINK_RE.exec(target);
      const inode = m ? Number(m[1]) : NaN;
      if (inodes.has(inode)) found.push(inode);
    };
    for (let i = 0; i < take; i += READLINK_BATCH) await Promise.all(fds.slice(i, Math.min(take, i + READLINK_BATCH)).map(one));
    return found;
  }

  async function examine(pid: number): Promise<void> {
    const held = await socketsOf(pid);
    // Lower pids are examined first within a batch but may finish later: compare, don't assume.
    const wanted = held.filter((inode) => (owners.get(inode)?.pid ?? Infinity) > pid);
    if (wanted.length === 0) return;
    const owner: SocketOwner = { pid };
    const comm = commOf(await readBounded(`${proc}/${pid}/comm`));
    if (comm !== undefined) owner.process = comm;
    const status = await readBounded(`${proc}/${pid}/status`);
    const uid = status === undefined ? undefined : parseStatusUid(status);
    if (uid !== undefined) {
      owner.uid = uid;
      const user = users.get(uid);
      if (user !== undefined) owner.user = user;
    }
    for (const inode of wanted) if ((owners.get(inode)?.pid ?? Infinity) > pid) owners.set(inode, owner);
  }

  for (let i = 0; i < pids.length && fdBudget > 0; i += concurrency) {
    await Promise.all(pids.slice(i, i + concurrency).map((pid) => examine(pid)));
  }
  return owners;
}
