/**
 * Which ports reach the services table, and the merge rule there.
 *
 * `services` is the register of ports that carry a service: a port enters it when an observation
 * sees it open or names a service on it that was probed; a port never seen open stays in
 * `observations` only (a million filtered ports are history, not services). A port-table guess
 * (nmap's `method="table"`: the name /etc/services gives the number) on a port that is not open
 * says nothing about the host and is not kept at all. Once in, every later observation of the port
 * updates it, whatever its state, so a service that went away shows as closed.
 *
 * The merge, as SQL both backends run in their upsert (`excluded` is the incoming row, `services`
 * the stored one; every SET expression sees the stored row as it was):
 * - state, reason and last_seen always come from the newest observation;
 * - the service fields (name … confidence, source) are replaced by an incoming service that is at
 *   least as confident, or when the stored one was only a port-table guess, or when the port's
 *   state changed; an observation without a service never erases the last one known.
 */
/** Columns of an upsert into `services`, in the order backends bind them. */
export const SERVICE_COLUMNS = [
  'host_id',
  'protocol',
  'port',
  'state',
  'reason',
  'name',
  'product',
  'version',
  'extrainfo',
  'cpe',
  'banner',
  'tls',
  'evidence',
  'listener',
  'service',
  'source',
  'method',
  'confidence',
  'first_seen',
  'last_seen',
] as const;

/** Columns of an insert into `observations`, in bind order. */
export const OBSERVATION_COLUMNS = ['scan_id', 'host_id', 'protocol', 'port', 'state', 'reason', 'service', 'listener', 'source', 'observed_at'] as const;

/** Columns of an insert into `observed_ranges`, in bind order. */
export const RANGE_COLUMNS = ['scan_id', 'host_id', 'protocol', 'state', 'reason', 'source', 'observed_at', 'ports', 'port_count'] as const;

const REPLACED = ['name', 'product', 'version', 'extrainfo', 'cpe', 'banner', 'tls', 'evidence', 'service', 'source', 'method', 'confidence'];

const NEWER = 'excluded.last_seen >= services.last_seen';
const CHANGED = `(${NEWER} AND excluded.state <> services.state)`;
const REPLACE = `(excluded.name IS NOT NULL AND (services.name IS NULL OR services.method = 'table' OR excluded.confidence >= services.confidence OR ${CHANGED}))`;

/** `ON CONFLICT … DO UPDATE SET …` for services, identical on SQLite and PostgreSQL. */
export const SERVICE_CONFLICT = [
  'ON CONFLICT (host_id, protocol, port) DO UPDATE SET',
  [
    `state = CASE WHEN ${NEWER} THEN excluded.state ELSE services.state END`,
    `reason = CASE WHEN ${NEWER} THEN excluded.reason ELSE services.reason END`,
    `last_seen = CASE WHEN ${NEWER} THEN excluded.last_seen ELSE services.last_seen END`,
    // first_seen: when the service was first there, so an old closed sighting does not count.
    "first_seen = CASE WHEN excluded.first_seen < services.first_seen AND (excluded.state = 'open' OR excluded.name IS NOT NULL) THEN excluded.first_seen ELSE services.first_seen END",
    `listener = CASE WHEN ${NEWER} AND excluded.listener IS NOT NULL THEN excluded.listener ELSE services.listener END`,
    ...REPLACED.map((c) => `${c} = CASE WHEN ${REPLACE} THEN excluded.${c} ELSE services.${c} END`),
  ].join(',\n  '),
].join('\n  ');

/** True when a port enters `services` even if it is not there yet (see above). */
export function entersServices(state: string, hasService: boolean): boolean {
  return state === 'open' || hasService;
}

/** True when an observation keeps its service: always on an open port; elsewhere only when probed. */
export function keepsService(state: string, method: string | undefined): boolean {
  return state === 'open' || method === 'probed';
}
