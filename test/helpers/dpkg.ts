/** Installed package versions, read at test time (never hard-coded). */
import { execFileSync } from 'node:child_process';

/** The full Debian version of an installed package (`1:9.2p1-2+deb12u3`), or undefined. */
export function packageVersion(pkg: string): string | undefined {
  try {
    const out = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}\t${Version}', pkg], { encoding: 'utf8' });
    const [status, version] = out.split('\t');
    return status?.startsWith('ii') && version ? version : undefined;
  } catch {
    return undefined;
  }
}

/** The upstream part: no epoch, no Debian revision, no `+dfsg`/`~` repack suffix (`9.2p1`). */
export function upstreamVersion(full: string): string {
  const noEpoch = full.replace(/^\d+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const upstream = dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
  return upstream.replace(/[+~](?:dfsg|ds|repack)\d*.*$/i, '');
}

/** The Debian revision (`2+deb12u3`), or undefined for a native package. */
export function debianRevision(full: string): string | undefined {
  const dash = full.lastIndexOf('-');
  return dash > 0 ? full.slice(dash + 1) : undefined;
}
