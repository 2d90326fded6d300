import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values are never written to a log, wherever they appear in a log object. */
const SECRET_PATHS = [
  'password',
  '*.password',
  'keystorePassword',
  '*.keystorePassword',
  'privateKey',
  '*.privateKey',
  'authorization',
  '*.authorization',
  'headers.Authorization',
  'headers["Proxy-Authorization"]',
];

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: LevelWithSilent;
  /** Where JSON lines go. @default stdout */
  readonly destination?: DestinationStream;
}

/** The process logger: one JSON object per line (pino), secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { name: 'callrec' },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}

/**
 * Masks a phone number or SIP user part for INFO-level logs: keeps a prefix and the last two
 * digits (`+49301234567` -> `+4930*******67`), so calls stay traceable without personal data.
 */
export function maskNumber(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length <= 4) return '*'.repeat(value.length);
  const keepStart = Math.min(5, Math.floor(value.length / 3));
  return value.slice(0, keepStart) + '*'.repeat(value.length - keepStart - 2) + value.slice(-2);
}
