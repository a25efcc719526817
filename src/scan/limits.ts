/** How many sockets this process may open, read from the kernel's view of our limits. */
import { readFileSync } from 'node:fs';

const FALLBACK_LIMIT = 1024;
/** File descriptors kept free for outputs, the checkpoint, DNS and Node itself. */
const RESERVED_FDS = 48;

/** The soft RLIMIT_NOFILE (Node raises it to the hard limit at start-up). */
export function openFileLimit(): number {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m?.[1]) return m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  } catch {
    // Not Linux: fall through to the conservative default.
  }
  return FALLBACK_LIMIT;
}

/** The most probe sockets to keep open at once: below the fd limit, with room for everything else. */
export function socketCap(limit = openFileLimit()): number {
  return Math.max(8, Math.min(limit - RESERVED_FDS, Math.floor(limit * 0.85)));
}
