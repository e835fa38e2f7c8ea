import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino must never print in clear. Tokens, keys and passwords must not reach logs even when a
 * caller logs a whole request or error by mistake; the censor keeps the key so the shape stays
 * visible.
 */
export const REDACTED_PATHS: readonly string[] = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'client_assertion',
  '*.client_assertion',
  'privateKey',
  '*.privateKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'password',
  '*.password',
  'secret',
  '*.secret',
];

export interface LoggerSettings {
  level?: string;
  /** Human-readable output (pino-pretty); defaults to on when stdout is a TTY. */
  pretty?: boolean;
  /** Where to write; tests pass a stream to read the log back. */
  destination?: DestinationStream;
  /** Fixed fields on every line, e.g. `{ component: 'worker' }`. */
  base?: Record<string, unknown>;
}

/**
 * Creates the process logger. Child loggers carry the fixed keys `tenant`, `job`, `runId`,
 * `cmdlet`, `requestId` and `attempt`, so one grep finds a run across processes.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { ...settings.base },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (settings.destination) return pino(options, settings.destination);
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  return pino(options);
}

/** A logger that drops everything, for tests and library use without logging. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
