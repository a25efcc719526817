/** Ground truth for loopback tests: which TCP ports the kernel says are listening, from /proc/net/tcp{,6}. */
import { readFileSync } from 'node:fs';

const LISTEN = '0A';

function rows(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((r) => r.length > 3);
  } catch {
    return [];
  }
}

/** Ports a connect to `address` (127.0.0.1 or ::1) would find open: listeners on that address or on the wildcard. */
export function listeningPorts(address: '127.0.0.1' | '::1'): Set<number> {
  const ports = new Set<number>();
  if (address === '127.0.0.1') {
    for (const r of rows('/proc/net/tcp')) {
      const [ip, port] = (r[1] ?? '').split(':');
      if (r[3] === LISTEN && (ip === '0100007F' || ip === '00000000')) ports.add(parseInt(port ?? '0', 16));
    }
    // A dual-stack [::] listener also accepts IPv4.
    for (const r of rows('/proc/net/tcp6')) {
      const [ip, port] = (r[1] ?? '').split(':');
      if (r[3] === LISTEN && (ip === '00000000000000000000000000000000' || ip === '0000000000000000FFFF00000100007F')) ports.add(parseInt(port ?? '0', 16));
    }
  } else {
    for (const r of rows('/proc/net/tcp6')) {
      const [ip, port] = (r[1] ?? '').split(':');
      if (r[3] === LISTEN && (ip === '00000000000000000000000001000000' || ip === '00000000000000000000000000000000')) ports.add(parseInt(port ?? '0', 16));
    }
  }
  return ports;
}
