/** shellcheck (bash dialect) on a generated script given on stdin: exit status and everything it printed. */
import { spawnSync } from 'node:child_process';

export function shellcheck(script: string): { status: number | null; out: string } {
  const r = spawnSync('/usr/bin/shellcheck', ['-s', 'bash', '-'], { input: script, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
