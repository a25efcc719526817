/**
 * Timing: templates (-T0…-T5), the per-host RTT estimator that sets probe timeouts, and the
 * congestion windows that decide how many probes may be in flight.
 *
 * Design choice that differs from nmap: a probe that times out is not by itself taken as a sign of
 * congestion. A firewall that drops SYNs produces timeouts that say nothing about the path; nmap
 * shrinks its window on each of them, which is why it crawls through a default-DROP host. Here a
 * timeout counts as loss only once a retransmission has been answered on that host (the first try
 * was lost, the second got through): that is evidence of real loss, and from then on timeouts shrink
 * the window as in nmap. Until then silence is treated as an answer for window growth.
 */

export type TemplateLevel = 0 | 1 | 2 | 3 | 4 | 5;

export interface TimingProfile {
  level: TemplateLevel;
  name: string;
  initialRttTimeoutMs: number;
  minRttTimeoutMs: number;
  maxRttTimeoutMs: number;
  maxRetries: number;
  /** Delay between probes to the same host; 0 for none. */
  scanDelayMs: number;
  /** Upper bound for probes in flight across the scan (also capped by the fd limit). */
  maxParallelism: number;
  /** Probes in flight per host at the start, before any answer. */
  initialHostWindow: number;
  /** Give up on a host after this long (0 = never). */
  hostTimeoutMs: number;
}

// Bounds follow nmap's published template values so results and run times are comparable.
const TEMPLATES: readonly TimingProfile[] = [
  { level: 0, name: 'paranoid', initialRttTimeoutMs: 300_000, minRttTimeoutMs: 100, maxRttTimeoutMs: 300_000, maxRetries: 10, scanDelayMs: 300_000, maxParallelism: 1, initialHostWindow: 1, hostTimeoutMs: 0 },
  { level: 1, name: 'sneaky', initialRttTimeoutMs: 15_000, minRttTimeoutMs: 100, maxRttTimeoutMs: 15_000, maxRetries: 10, scanDelayMs: 15_000, maxParallelism: 1, initialHostWindow: 1, hostTimeoutMs: 0 },
  { level: 2, name: 'polite', initialRttTimeoutMs: 1_000, minRttTimeoutMs: 100, maxRttTimeoutMs: 10_000, maxRetries: 10, scanDelayMs: 400, maxParallelism: 1, initialHostWindow: 1, hostTimeoutMs: 0 },
  { level: 3, name: 'normal', initialRttTimeoutMs: 1_000, minRttTimeoutMs: 100, maxRttTimeoutMs: 10_000, maxRetries: 10, scanDelayMs: 0, maxParallelism: 4096, initialHostWindow: 64, hostTimeoutMs: 0 },
  { level: 4, name: 'aggressive', initialRttTimeoutMs: 500, minRttTimeoutMs: 100, maxRttTimeoutMs: 1_250, maxRetries: 6, scanDelayMs: 0, maxParallelism: 4096, initialHostWindow: 1024, hostTimeoutMs: 0 },
  { level: 5, name: 'insane', initialRttTimeoutMs: 250, minRttTimeoutMs: 50, maxRttTimeoutMs: 300, maxRetries: 2, scanDelayMs: 0, maxParallelism: 8192, initialHostWindow: 1024, hostTimeoutMs: 900_000 },
];

/** The template for `-T<level>`. */
export function timingTemplate(level: TemplateLevel): TimingProfile {
  const t = TEMPLATES[level];
  if (!t) throw new RangeError(`no timing template ${level}`);
  return { ...t };
}

/** Accepts `-T4`, `4`, or a template name (`aggressive`), as nmap does. */
export function parseTemplate(token: string): TemplateLevel | undefined {
  const s = token.trim().toLowerCase().replace(/^-?t/, '');
  if (/^[0-5]$/.test(s)) return Number(s) as TemplateLevel;
  const byName = TEMPLATES.find((t) => t.name === s);
  return byName?.level;
}

/**
 * RFC 6298 style estimator: SRTT and RTTVAR from answered probes, timeout = SRTT + 4·RTTVAR,
 * clamped to the template's bounds. Before the first sample the template's initial timeout holds.
 */
export class RttEstimator {
  srttMs = -1;
  rttvarMs = -1;
  constructor(private readonly profile: Pick<TimingProfile, 'initialRttTimeoutMs' | 'minRttTimeoutMs' | 'maxRttTimeoutMs'>) {}

  get hasSample(): boolean {
    return this.srttMs >= 0;
  }

  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srttMs < 0) {
      this.srttMs = r;
      this.rttvarMs = r / 2;
      return;
    }
    // Ignore absurd outliers (a stalled event loop, a late answer to an old probe) beyond 8× the timeout.
    if (r > this.timeoutMs() * 8) return;
    this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - r);
    this.srttMs = 0.875 * this.srttMs + 0.125 * r;
  }

  timeoutMs(): number {
    const p = this.profile;
    if (this.srttMs < 0) return p.initialRttTimeoutMs;
    const raw = this.srttMs + Math.max(1, 4 * this.rttvarMs);
    return Math.min(p.maxRttTimeoutMs, Math.max(p.minRttTimeoutMs, raw));
  }
}

/**
 * A congestion window: slow start up to ssthresh, then additive increase; multiplicative decrease
 * on loss, at most once per `holdMs` so one burst of losses halves it once, not a hundred times.
 */
export class CongestionWindow {
  cwnd: number;
  ssthresh: number;
  private lastCutAt = -Infinity;

  constructor(
    initial: number,
    private readonly min: number,
    private max: number,
  ) {
    this.cwnd = Math.min(initial, max);
    // As in TCP, slow start runs until the first loss sets a threshold.
    this.ssthresh = Infinity;
  }

  /** Whole probes allowed in flight now. */
  get allowed(): number {
    return Math.max(this.min, Math.floor(this.cwnd));
  }

  setMax(max: number): void {
    this.max = Math.max(this.min, max);
    if (this.cwnd > this.max) this.cwnd = this.max;
  }

  grow(): void {
    if (this.cwnd < this.ssthresh) this.cwnd += 1;
    else this.cwnd += 1 / this.cwnd;
    if (this.cwnd > this.max) this.cwnd = this.max;
  }

  /** Loss seen at time `now` (ms); `holdMs` is about one timeout of the path. */
  cut(now: number, holdMs: number): void {
    if (now - this.lastCutAt < holdMs) return;
    this.lastCutAt = now;
    this.ssthresh = Math.max(this.min * 2, this.cwnd / 2);
    this.cwnd = Math.max(this.min, this.cwnd / 2);
  }
}

/** Token bucket for --max-rate, and a floor for --min-rate (probes per second). */
export class RateGate {
  private tokens: number;
  private last: number;
  constructor(
    private readonly maxRate: number | undefined,
    now: number,
  ) {
    this.tokens = maxRate ? Math.min(maxRate, Math.max(1, maxRate / 20)) : Infinity;
    this.last = now;
  }

  /** How many probes may be sent at `now` under --max-rate. */
  available(now: number): number {
    if (!this.maxRate) return Infinity;
    const burst = Math.max(1, this.maxRate / 20);
    this.tokens = Math.min(burst, this.tokens + ((now - this.last) * this.maxRate) / 1000);
    this.last = now;
    return Math.floor(this.tokens);
  }

  take(n: number): void {
    if (this.maxRate) this.tokens -= n;
  }

  /** Milliseconds until one token is available. */
  waitMs(): number {
    if (!this.maxRate || this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.maxRate);
  }
}
