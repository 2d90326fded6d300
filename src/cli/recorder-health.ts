import { join } from 'node:path';
import type { CallrecConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { RecorderHealth } from '../policy/index.js';
import { createAlarmHandler } from './alarms.js';
import { SpoolSpace, type AlarmHandler } from './spool-space.js';

const MIB = 1024 * 1024;

/** The recorder's health as the server wires it: the spool, and the alarm handler everything raises on. */
export interface RecorderHealthWiring {
  readonly spool: SpoolSpace;
  readonly onAlarm: AlarmHandler;
  /** For the recording policy: problems that make `reject` profiles refuse new calls. */
  health(): RecorderHealth;
  /** Adds a source of such problems (the recorder's finalisation backlog). */
  watch(problems: () => readonly string[]): void;
  close(): void;
}

/**
 * Opens `<dataDir>/recordings` (0700) with its free-space reserve (`installation.spoolReserveMegabytes`)
 * and the alarm handler (logged, rate-limited; `count` feeds the metric when there is one).
 */
export async function startRecorderHealth(
  config: CallrecConfig,
  logger: Logger,
  count?: (alarm: string) => void,
): Promise<RecorderHealthWiring> {
  const onAlarm = createAlarmHandler({ logger, ...(count === undefined ? {} : { count }) });
  const spool = await SpoolSpace.open({
    dir: join(config.installation.dataDir, 'recordings'),
    reserveBytes: config.installation.spoolReserveMegabytes * MIB,
    onAlarm,
    logger,
  });
  const sources: Array<() => readonly string[]> = [];
  return {
    spool,
    onAlarm,
    health: () => {
      const spoolHealth = spool.health();
      if (sources.length === 0) return spoolHealth;
      return { problems: [...spoolHealth.problems, ...sources.flatMap((source) => source())] };
    },
    watch: (problems) => sources.push(problems),
    close: () => spool.close(),
  };
}
