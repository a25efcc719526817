/**
 * Progress on stderr: a bar with rate and ETA when stderr is a terminal, and/or a plain nmap-style
 * `Stats:` line every --stats-every. stdout is never touched.
 */
import type { EngineStats } from '../scan/engine.js';

export interface ProgressOptions {
  /** Total port decisions expected (hosts × ports), when known. */
  total: number | undefined;
  bar: boolean;
  statsEveryMs: number | undefined;
  stats: () => EngineStats;
}

export interface Progress {
  stop(): void;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Start the progress display; call stop() before the final summary is printed. */
export async function startProgress(opts: ProgressOptions): Promise<Progress> {
  const started = Date.now();
  let lastProbes = 0;
  let lastAt = started;
  let rate = 0;
  const sample = (): { done: number; pct: number; eta: number } => {
    const s = opts.stats();
    const now = Date.now();
    if (now - lastAt >= 500) {
      rate = ((s.probesSent - lastProbes) * 1000) / (now - lastAt);
      lastProbes = s.probesSent;
      lastAt = now;
    }
    const total = opts.total ?? 0;
    const pct = total > 0 ? Math.min(100, (s.portsDone / total) * 100) : 0;
    const elapsed = now - started;
    const eta = pct > 0 ? (elapsed * (100 - pct)) / pct : NaN;
    return { done: s.portsDone, pct, eta };
  };

  let bar: import('cli-progress').SingleBar | undefined;
  let barTimer: NodeJS.Timeout | undefined;
  if (opts.bar && opts.total) {
    // Only a terminal shows the bar, so only then is the library loaded.
    const { default: cliProgress } = await import('cli-progress');
    bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: ' {bar} {percentage}% | {value}/{total} ports | {rate} probes/s | ETA {etaText}',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, 0, { rate: 0, etaText: '-' });
    barTimer = setInterval(() => {
      const { done, eta } = sample();
      bar?.update(done, { rate: Math.round(rate), etaText: Number.isFinite(eta) ? clock(eta) : '-' });
    }, 200);
    barTimer.unref();
  }

  let statsTimer: NodeJS.Timeout | undefined;
  if (opts.statsEveryMs) {
    statsTimer = setInterval(() => {
      const s = opts.stats();
      const { pct, eta } = sample();
      const etc = Number.isFinite(eta) ? `; ETC: ${new Date(Date.now() + eta).toISOString().slice(11, 19)} UTC (${clock(eta)} remaining)` : '';
      process.stderr.write(
        `Stats: ${clock(Date.now() - started)} elapsed; ${s.hostsDone} hosts completed (${s.hostsUp} up); ` +
          `Connect Scan ${pct.toFixed(2)}% done; ${Math.round(rate)} probes/s${etc}\n`,
      );
    }, opts.statsEveryMs);
    statsTimer.unref();
  }

  return {
    stop(): void {
      if (barTimer) clearInterval(barTimer);
      if (statsTimer) clearInterval(statsTimer);
      bar?.stop();
    },
  };
}
