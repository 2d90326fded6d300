import type { Logger } from '../observability/index.js';
import type { AlarmHandler } from './spool-space.js';

export interface AlarmLogOptions {
  readonly logger: Logger;
  /** Counts every raise (the Prometheus metric); called even when the log line is left out. */
  readonly count?: (name: string) => void;
  /** Least time between two log lines of one alarm. @default 60000 */
  readonly intervalMs?: number;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
}

/** Alarms that mean a recording is (or will be) lost or damaged: logged at ERROR, others at WARN. */
const ERROR_ALARMS = new Set(['recording-failed']);

/**
 * The composition root's alarm handler: every raise is counted; one log line per alarm name and
 * interval (`"msg":"alarm: <name>"`, with the details and how many raises were left out since the
 * last line), so a failing disk cannot flood the log.
 */
export function createAlarmHandler(options: AlarmLogOptions): AlarmHandler {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? (() => performance.now());
  const last = new Map<string, { at: number; suppressed: number }>();
  return (name, details) => {
    try {
      options.count?.(name);
    } catch (error) {
      options.logger.error(
        { alarm: name, err: error instanceof Error ? error.message : String(error) },
        'alarm metric failed',
      );
    }
    const at = now();
    const previous = last.get(name);
    if (previous !== undefined && at - previous.at < intervalMs) {
      previous.suppressed++;
      return;
    }
    last.set(name, { at, suppressed: 0 });
    const fields = { ...details, alarm: name, suppressed: previous?.suppressed ?? 0 };
    if (ERROR_ALARMS.has(name)) options.logger.error(fields, `alarm: ${name}`);
    else options.logger.warn(fields, `alarm: ${name}`);
  };
}
