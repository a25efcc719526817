/** Forward name resolution through the system resolver (getaddrinfo: /etc/hosts, then DNS). */
import { lookup } from 'node:dns/promises';

/** Every A and AAAA record of `name`, as text; empty when the name does not resolve. */
export async function resolveName(name: string): Promise<readonly string[]> {
  try {
    const records = await lookup(name, { all: true, verbatim: true });
    return records.map((r) => r.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EAI_FAIL' || code === 'EAI_AGAIN') return [];
    throw err;
  }
}
