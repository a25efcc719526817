/**
 * `-sL`: list the targets a scan would cover, sending nothing (no probes; names are looked up
 * through the system resolver unless they are literals). Streams, so a /8 costs constant memory.
 */
import { expandTargetBatches } from '../core/targets.js';
import { escapeTerminal } from '../core/escape.js';
import { compileExclusions } from '../core/targets.js';
import { quoteToken } from '../core/errors.js';
import { resolveName } from '../scan/resolve.js';
import type { ScanConfig } from './commands/scan.js';
import { Sink } from './sink.js';
import { VERSION } from './version.js';

/** Print one report line per target and a closing count; resolves to the exit code. */
export async function listTargets(config: ScanConfig): Promise<number> {
  const started = Date.now();
  const sink = new Sink('-');
  sink.write(`Starting portolan ${VERSION} at ${new Date(started).toISOString().replace('T', ' ').slice(0, 16)} UTC\n`);
  const exclusions = await compileExclusions(config.excludes, resolveName);
  let count = 0;
  const options = {
    exclusions,
    resolveAll: true,
    batchSize: 8192,
    onUnresolved: (name: string, reason: string) => process.stderr.write(`portolan: failed to resolve ${quoteToken(name)} (${reason}); skipped\n`),
    ...(config.family !== undefined && { family: config.family }),
    ...(config.seed !== undefined && { seed: config.seed }),
  };
  for await (const batch of expandTargetBatches(config.specs, resolveName, options)) {
    let text = '';
    for (const t of batch) {
      text += t.hostname !== undefined ? `portolan scan report for ${escapeTerminal(t.hostname)} (${t.address})\n` : `portolan scan report for ${t.address}\n`;
    }
    count += batch.length;
    sink.write(text);
    await sink.drained();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(2);
  sink.write(`portolan done: ${count} IP address${count === 1 ? '' : 'es'} (0 hosts up) scanned in ${seconds} seconds\n`);
  sink.close();
  return 0;
}
