import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSocketOwners, parsePasswd, parseStatusUid } from './processes.js';

describe('parsePasswd', () => {
  it('maps uids to the first name and skips junk', () => {
    const users = parsePasswd(
      ['root:x:0:0:root:/root:/bin/bash', 'toor:x:0:0::/:/bin/sh', 'postgres:x:107:114::/var/lib/postgresql:/bin/bash', 'bad line', 'evil\u001b:x:5:5::/:/bin/sh', 'n:x:notanumber:1::/:', ''].join('\n'),
    );
    expect([...users]).toEqual([
      [0, 'root'],
      [107, 'postgres'],
    ]);
  });
});

describe('parseStatusUid', () => {
  it('takes the effective uid', () => {
    expect(parseStatusUid('Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t1\t1\t1\t1\n')).toBe(0);
    expect(parseStatusUid('Name:\tx\n')).toBeUndefined();
    expect(parseStatusUid('Uid:\t1\t99999999999\t0\t0\n')).toBeUndefined();
  });
});

describe('findSocketOwners on a fake /proc', () => {
  let root: string;
  let proc: string;
  let passwd: string;

  /** A fake process: its fd links, and optionally comm and status. */
  function processDir(pid: number, links: string[], comm?: string, uid?: number): void {
    const dir = join(proc, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    links.forEach((target, fd) => symlinkSync(target, join(dir, 'fd', String(fd))));
    if (comm !== undefined) writeFileSync(join(dir, 'comm'), `${comm}\n`);
    if (uid !== undefined) writeFileSync(join(dir, 'status'), `Name:\t${comm ?? ''}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'portolan-proc-'));
    proc = join(root, 'proc');
    passwd = join(root, 'passwd');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n');
    processDir(1, ['/dev/null', 'socket:[100]'], 'init', 0);
    // A forked worker holding its parent's socket: the parent (lower pid) is credited.
    processDir(300, ['socket:[200]', 'pipe:[9]', 'socket:[201]'], 'nginx', 0);
    processDir(301, ['socket:[200]', 'socket:[202]'], 'nginx', 33);
    // Gone between readdir and read: no comm, no status.
    processDir(400, ['socket:[300]']);
    // Not a process directory.
    mkdirSync(join(proc, 'net'), { recursive: true });
    mkdirSync(join(proc, 'self'), { recursive: true });
    // fd is a file, not a directory (ENOTDIR, as for a zombie or a permission problem).
    mkdirSync(join(proc, '500'));
    writeFileSync(join(proc, '500', 'fd'), '');
    // Control characters in comm are kept as they are (escaping is for output); uid unknown to passwd.
    processDir(600, ['socket:[400]'], 'evil\u001b[2J', 4242);
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('finds each wanted inode, credits the lowest pid, and tolerates vanished processes', async () => {
    const owners = await findSocketOwners(new Set([100, 200, 201, 202, 300, 400, 999]), { procRoot: proc, passwdPath: passwd, concurrency: 2 });
    expect(Object.fromEntries(owners)).toEqual({
      100: { pid: 1, process: 'init', uid: 0, user: 'root' },
      200: { pid: 300, process: 'nginx', uid: 0, user: 'root' },
      201: { pid: 300, process: 'nginx', uid: 0, user: 'root' },
      202: { pid: 301, process: 'nginx', uid: 33, user: 'www-data' },
      300: { pid: 400 },
      400: { pid: 600, process: 'evil\u001b[2J', uid: 4242 },
    });
  });

  it('returns nothing when nothing is wanted or /proc is missing', async () => {
    expect((await findSocketOwners(new Set(), { procRoot: proc })).size).toBe(0);
    expect((await findSocketOwners(new Set([100]), { procRoot: join(root, 'nope') })).size).toBe(0);
  });

  it('stops at its bounds', async () => {
    const few = await findSocketOwners(new Set([100, 200, 202]), { procRoot: proc, passwdPath: passwd, maxProcesses: 2 });
    expect([...few.keys()].sort()).toEqual([100, 200]);
    const budget = await findSocketOwners(new Set([100, 200, 202]), { procRoot: proc, passwdPath: passwd, maxFds: 2, concurrency: 1 });
    expect([...budget.keys()]).toEqual([100]);
    const perProcess = await findSocketOwners(new Set([201]), { procRoot: proc, passwdPath: passwd, maxFdsPerProcess: 2 });
    expect(perProcess.size).toBe(0);
  });
});
