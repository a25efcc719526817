/**
 * Probe outcomes and port states. Outcomes are values, not exceptions: every connect attempt ends
 * as one of these, and the engine turns the final one into an nmap-style state with its reason.
 */

/** What one connect attempt ended as. Numeric so the native socket layer can report it in a typed array. */
export const Outcome = {
  /** Three-way handshake completed. */
  Connected: 1,
  /** TCP RST in answer to the SYN. */
  Refused: 2,
  /** Nothing came back before the engine's timeout. */
  Timeout: 3,
  /** ICMP host unreachable (or an unspecific EHOSTUNREACH). */
  HostUnreach: 4,
  /** ICMP network unreachable, or no route. */
  NetUnreach: 5,
  /** ICMP communication administratively prohibited (v4 codes 9, 10, 13; v6 code 1), or a local policy refusal. */
  AdminProhibited: 6,
  /** ICMP protocol unreachable. */
  ProtoUnreach: 7,
  /** ICMP port unreachable: the connect fails with ECONNREFUSED just like a RST. */
  PortUnreach: 8,
  /** The socket connected to itself (loopback simultaneous open): nothing listens there; try again. */
  SelfConnect: 9,
  /** Our own limit (EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS, ENOMEM, EAGAIN): never a port state; back off and retry. */
  LocalLimit: 10,
  /** An error we do not classify; the port is reported filtered with reason `error` after retries. */
  OtherError: 11,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export type PortState = 'open' | 'closed' | 'filtered';

/** nmap's reason vocabulary, as it appears in `--reason` and in `-oX`. */
export type PortReason =
  | 'syn-ack'
  | 'conn-refused'
  | 'port-unreach'
  | 'no-response'
  | 'host-unreach'
  | 'net-unreach'
  | 'admin-prohibited'
  | 'proto-unreach'
  | 'error';

export interface Verdict {
  state: PortState;
  reason: PortReason;
}

const VERDICTS: Record<Outcome, Verdict | undefined> = {
  [Outcome.Connected]: { state: 'open', reason: 'syn-ack' },
  [Outcome.Refused]: { state: 'closed', reason: 'conn-refused' },
  [Outcome.PortUnreach]: { state: 'closed', reason: 'port-unreach' },
  [Outcome.Timeout]: { state: 'filtered', reason: 'no-response' },
  [Outcome.HostUnreach]: { state: 'filtered', reason: 'host-unreach' },
  [Outcome.NetUnreach]: { state: 'filtered', reason: 'net-unreach' },
  [Outcome.AdminProhibited]: { state: 'filtered', reason: 'admin-prohibited' },
  [Outcome.ProtoUnreach]: { state: 'filtered', reason: 'proto-unreach' },
  [Outcome.OtherError]: { state: 'filtered', reason: 'error' },
  [Outcome.SelfConnect]: undefined,
  [Outcome.LocalLimit]: undefined,
};

/** The state a final outcome stands for; undefined for outcomes that are not port states (retry those). */
export function verdictOf(outcome: Outcome): Verdict | undefined {
  return VERDICTS[outcome];
}

/** True when the target itself answered (RST, SYN-ACK or an ICMP error): proof the host is up and a timing sample. */
export function isAnswer(outcome: Outcome): boolean {
  return outcome !== Outcome.Timeout && outcome !== Outcome.SelfConnect && outcome !== Outcome.LocalLimit && outcome !== Outcome.OtherError;
}

/** Map a POSIX errno name (as Node reports it in `err.code`) to an outcome. */
export function outcomeFromErrno(code: string | undefined): Outcome {
  switch (code) {
    case 'ECONNREFUSED':
      return Outcome.Refused;
    case 'ETIMEDOUT':
      return Outcome.Timeout;
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
    case 'ENONET':
      return Outcome.HostUnreach;
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return Outcome.NetUnreach;
    case 'EACCES':
    case 'EPERM':
      return Outcome.AdminProhibited;
    case 'ENOPROTOOPT':
    case 'EPROTO':
      return Outcome.ProtoUnreach;
    case 'EMFILE':
    case 'ENFILE':
    case 'EADDRNOTAVAIL':
    case 'EADDRINUSE':
    case 'ENOBUFS':
    case 'ENOMEM':
    case 'EAGAIN':
    case 'EINTR':
      return Outcome.LocalLimit;
    default:
      return Outcome.OtherError;
  }
}
