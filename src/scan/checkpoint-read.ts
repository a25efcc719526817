/** Reading a --resume checkpoint: every line is hostile input and is validated. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { HostResult } from '../core/model.js';
import { UsageError } from '../core/errors.js';
import { CHECKPOINT_FORMAT, type CheckpointHeader } from './checkpoint.js';

const MAX_CHECKPOINT_BYTES = 2 * 1024 ** 3;

const headerSchema = z.object({
  type: z.literal(CHECKPOINT_FORMAT),
  version: z.literal(1),
  args: z.array(z.string().max(1_000_000)).max(10_000),
  startedAt: z.number(),
});

const text = z.string().max(1024).optional();
/** A detected service; TLS and evidence details are kept as written (our own file, bounded by the line cap). */
const serviceSchema = z.looseObject({
  name: z.string().max(64),
  product: text,
  version: text,
  extrainfo: text,
  ostype: text,
  devicetype: text,
  hostname: text,
  distro: text,
  packageRevision: text,
  tunnel: z.literal('ssl').optional(),
  method: z.enum(['table', 'probed']),
  confidence: z.number().min(0).max(10),
  cpe: z.array(z.string().max(512)).max(32),
  banner: text,
});

const portSchema = z.object({
  protocol: z.enum(['tcp', 'udp']),
  port: z.number().int().min(0).max(65535),
  state: z.enum(['open', 'closed', 'filtered']),
  reason: z.enum(['syn-ack', 'conn-refused', 'port-unreach', 'no-response', 'host-unreach', 'net-unreach', 'admin-prohibited', 'proto-unreach', 'error']),
  rttMs: z.number().optional(),
  tries: z.number().int().min(0),
  service: serviceSchema.optional(),
});

const hostSchema = z.object({
  address: z.string().max(64),
  family: z.union([z.literal(4), z.literal(6)]),
  hostnames: z.array(z.object({ name: z.string().max(255), type: z.enum(['user', 'PTR']) })),
  status: z.enum(['up', 'down']),
  statusReason: z.enum(['user-set', 'syn-ack', 'conn-refused', 'host-unreach', 'no-response', 'localhost-response', 'admin-prohibited', 'net-unreach']),
  ports: z.array(portSchema),
  startedAt: z.number(),
  endedAt: z.number(),
  srttUs: z.number().optional(),
  rttvarUs: z.number().optional(),
  timeoutUs: z.number().optional(),
  timedOut: z.boolean().optional(),
});

const hostLineSchema = z.object({ type: z.literal('host'), host: hostSchema });

export interface Checkpoint {
  header: CheckpointHeader;
  hosts: HostResult[];
  /** The file ends with the marker written when the scan finished. */
  complete: boolean;
}

/**
 * Read a checkpoint. The file is hostile input: every line is validated, a torn last line (a kill -9
 * in the middle of a write) is ignored, anything else malformed is an error naming the line.
 */
export function readCheckpoint(path: string): Checkpoint {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CHECKPOINT_BYTES) throw new UsageError('E_RESUME', `${path}: checkpoint larger than 2 GiB`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('E_RESUME', `cannot read checkpoint ${path}: ${(err as Error).message}`);
  }
  const lines = text.split('\n');
  const torn = !text.endsWith('\n');
  if (torn) lines.pop();
  else if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new UsageError('E_RESUME', `${path}: empty checkpoint; nothing to resume`);
  const header = headerSchema.safeParse(parseLine(lines[0]!, path, 1));
  if (!header.success) throw new UsageError('E_RESUME', `${path}:1: not a portolan checkpoint (${header.error.issues[0]?.message ?? 'bad header'})`);
  const hosts: HostResult[] = [];
  let complete = false;
  for (let i = 1; i < lines.length; i++) {
    const value = parseLine(lines[i]!, path, i + 1);
    if (isRecord(value) && value.type === 'complete') {
      complete = true;
      continue;
    }
    const parsed = hostLineSchema.safeParse(value);
    if (!parsed.success) throw new UsageError('E_RESUME', `${path}:${i + 1}: bad host record (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`);
    hosts.push(parsed.data.host);
  }
  return { header: header.data, hosts, complete };
}

function parseLine(line: string, path: string, no: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new UsageError('E_RESUME', `${path}:${no}: not JSON; the checkpoint is damaged`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
