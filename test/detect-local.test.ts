/**
 * Service detection against the real daemons this machine runs on 127.0.0.1 (PostgreSQL, MariaDB,
 * Redis, RabbitMQ, Mosquitto, NATS), through the CLI as a user runs it. Expected versions come from
 * dpkg at test time. A daemon that is not running here is skipped, not failed.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_HOME, jsonLines, runCli } from './helpers/cli.js';
import { packageVersion, upstreamVersion } from './helpers/dpkg.js';

interface Expectation {
  port: number;
  pkg: string;
  service: string;
  product: RegExp;
  /** False when the protocol does not reveal a version before authentication. */
  versioned: boolean;
}

const EXPECTED: Expectation[] = [
  { port: 5432, pkg: 'postgresql-15', service: 'postgresql', product: /^PostgreSQL DB$/, versioned: false },
  { port: 3306, pkg: 'mariadb-server', service: 'mysql', product: /^MariaDB$/, versioned: true },
  { port: 6379, pkg: 'redis-server', service: 'redis', product: /^Redis key-value store$/, versioned: true },
  { port: 5672, pkg: 'rabbitmq-server', service: 'amqp', product: /^RabbitMQ$/, versioned: true },
  { port: 1883, pkg: 'mosquitto', service: 'mqtt', product: /^Mosquitto$/, versioned: true },
  { port: 4222, pkg: 'nats-server', service: 'nats', product: /^NATS server$/, versioned: true },
];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('detection of the local daemons', () => {
  const up = new Map<number, boolean>();
  let ports: Map<number, Record<string, unknown>>;

  beforeAll(async () => {
    for (const e of EXPECTED) up.set(e.port, await listening(e.port));
    const r = await runCli(['scan', '-Pn', '-p', EXPECTED.map((e) => e.port).join(','), '--no-progress', '-oJ', '-', '127.0.0.1'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    ports = new Map(jsonLines(r.stdout).filter((l) => l.type === 'port').map((l) => [Number(l.port), l]));
  }, 90_000);

  it('identifies the same with only 128 file descriptors (detection takes its share, never all)', async () => {
    const open = EXPECTED.filter((e) => up.get(e.port));
    if (open.length === 0) return;
    // A fresh store too: creating it loads kysely, whose many modules must load within the limit.
    const db = join(TEST_HOME, `fd128-${process.pid}.db`);
    const r = await runCli(['scan', '--db', db, '-Pn', '-p', open.map((e) => e.port).join(','), '--no-progress', '-oJ', '-', '127.0.0.1'], { shellPrefix: 'ulimit -n 128;', timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const names = new Map(jsonLines(r.stdout).filter((l) => l.type === 'port').map((l) => [Number(l.port), (l.service as { name?: string } | undefined)?.name]));
    for (const e of open) expect(names.get(e.port), `port ${e.port}`).toBe(e.service);
    const stored = await runCli(['services', '--db', db, '--json'], { shellPrefix: 'ulimit -n 128;' });
    expect(stored.code, stored.stderr).toBe(0);
    const rows = JSON.parse(stored.stdout) as { port: number; name?: string }[];
    for (const e of open) expect(rows.find((x) => x.port === e.port)?.name, `stored port ${e.port}`).toBe(e.service);
  });

  for (const e of EXPECTED) {
    it(`identifies ${e.pkg} on ${e.port}`, ({ skip }) => {
      if (!up.get(e.port)) skip(`nothing listens on 127.0.0.1:${e.port} here`);
      const full = packageVersion(e.pkg);
      if (full === undefined) skip(`${e.pkg} is not installed`);
      const service = ports.get(e.port)?.service as Record<string, unknown> | undefined;
      expect(service, `port ${e.port}`).toBeDefined();
      expect(service?.name).toBe(e.service);
      expect(service?.method).toBe('probed');
      expect(String(service?.product)).toMatch(e.product);
      if (e.versioned) expect(service?.version).toBe(upstreamVersion(full!));
      expect((service?.cpe as string[] | undefined)?.length ?? 0).toBeGreaterThan(0);
    });
  }
});
