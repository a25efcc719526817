/**
 * Errors for bad user input. Each carries a stable `code` and a one-line message that names the bad
 * token and says what to do; the CLI prints `portolan: <message>` and exits 2. Program errors stay
 * plain `Error`s.
 */

/** The codes core itself raises; scripts may match on them, so never rename one. */
export type KnownUsageErrorCode =
  /** A target spec (address, range, CIDR, name) is malformed. */
  | 'E_TARGET'
  /** An --exclude / --excludefile entry is malformed or its name did not resolve. */
  | 'E_EXCLUDE'
  /** A port spec (-p, --top-ports, --exclude-ports, -F) is malformed or contradictory. */
  | 'E_PORT'
  /** A target is outside the allowed scope. */
  | 'E_SCOPE'
  /** Any other bad option or combination. */
  | 'E_USAGE';

/** A stable `E_…` code; other stages add their own (`E_RESUME`, …). The `string & {}` keeps editor completion for the known ones. */
export type UsageErrorCode = KnownUsageErrorCode | (string & {});

export interface UsageErrorOptions {
  /** The offending token exactly as the user gave it (unescaped, untruncated). */
  token?: string;
  /** When several problems were found at once, one line per problem, in input order. */
  problems?: readonly string[];
}

/** Bad user input. `message` is one line, safe to print on a terminal (tokens are escaped and capped). */
export class UsageError extends Error {
  readonly code: UsageErrorCode;
  readonly token: string | undefined;
  /** Every problem found, one line each; a single-problem error lists just its own message. */
  readonly problems: readonly string[];

  constructor(code: UsageErrorCode, message: string, options: UsageErrorOptions = {}) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
    this.token = options.token;
    this.problems = options.problems ?? [message];
  }
}

/** How many problems a combined message spells out before it says "and N more". */
const MAX_LISTED = 5;

/**
 * Fold several errors into one, so a whole spec list is checked before anything is sent and the user
 * sees every mistake at once. The message lists the first few; `problems` keeps all it was given.
 * `total` counts problems beyond those passed in, when the caller stopped keeping them (hostile input).
 */
export function combineUsageErrors(errors: readonly UsageError[], noun: string, total = errors.length): UsageError {
  const first = errors[0];
  if (first === undefined) throw new Error('combineUsageErrors needs at least one error');
  if (total === 1) return first;
  const listed = errors.slice(0, MAX_LISTED).map((e) => e.message);
  const more = total > listed.length ? `; and ${total - listed.length} more` : '';
  return new UsageError(first.code, `${total} bad ${noun}: ${listed.join('; ')}${more}`, {
    token: first.token,
    problems: errors.map((e) => e.message),
  });
}

/** Longest token shown in a message; a 1 MB token must not become a 1 MB error line. */
const MAX_TOKEN_CHARS = 64;

/**
 * Quote a user token for a message: double quotes, control and non-ASCII characters escaped (so a
 * terminal never interprets them and lookalike digits are visible), long tokens cut with their length.
 */
export function quoteToken(token: string): string {
  let out = '"';
  let shown = 0;
  let cut = false;
  for (const ch of token) {
    if (shown === MAX_TOKEN_CHARS) {
      cut = true;
      break;
    }
    shown++;
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += `\\u{${cp.toString(16)}}`;
  }
  out += '"';
  // Length in UTF-16 units: exact for what users paste, and cheap on a huge token.
  if (cut) out += `… (${token.length} characters)`;
  return out;
}
