/**
 * Structured JSON logs, one line per entry on stderr.
 *
 * Contract: callers pass only non-personal fields. User ids must go through
 * pseudonymise() (a keyed hash) before they reach a log line; record contents never do.
 * Namespaces follow `subsystem.event`-style names (STYLE.md §11), e.g. logger.child('consumer-loop').
 */
import { createHmac, randomBytes } from 'node:crypto';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<
  Record<string, string | number | boolean | null | undefined | readonly (string | number)[]>
>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(namespace: string): Logger;
}

export interface LogSink {
  write(line: string): void;
}

const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

export function createLogger(
  level: LogLevel,
  sink: LogSink = stderrSink,
  namespace = 'interest-drift',
): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    sink.write(
      `${JSON.stringify({ t: new Date().toISOString(), level: lvl, ns: namespace, msg, ...fields })}\n`,
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (ns) => createLogger(level, sink, `${namespace}.${ns}`),
  };
}

/**
 * Keyed pseudonym of a user id for logs: stable within one key, unlinkable without it.
 * The default key is random per process, so pseudonyms do not correlate across restarts
 * unless an operator supplies a key.
 */
export function createPseudonymiser(key: Buffer = randomBytes(32)): (userId: string) => string {
  return (userId) => keyedDigest(key, userId, 'u_', 12);
}

/**
 * `prefix` and the first `chars` base64url characters of HMAC-SHA256(`key`, `text`): the one form
 * of every keyed pseudonym (user ids in logs and alerts, alert ids in alert labels).
 */
export function keyedDigest(key: Buffer, text: string, prefix: string, chars: number): string {
  return `${prefix}${createHmac('sha256', key).update(text).digest('base64url').slice(0, chars)}`;
}
