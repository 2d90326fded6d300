import { loadConfig, watchConfig, type CallrecConfig } from '../../config/index.js';
import { createLogger, type Logger } from '../../observability/index.js';
import { checkFilePermissions } from '../file-permissions.js';
import { startServer, type RunningServer } from '../server.js';

/** Resolves with the name of the first SIGTERM/SIGINT; handlers are installed at once. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * `callrec run`: starts the server and runs until SIGTERM/SIGINT, then stops cleanly. Returns the
 * exit code: 0 after a clean stop, 1 when the config is invalid or a listener cannot bind.
 */
export async function runServerCommand(configPath: string): Promise<number> {
  // Before anything else: a signal during start-up must still stop cleanly, not kill the process.
  const signal = stopSignal();
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors)
      process.stderr.write(`${error.path === '' ? '/' : error.path}: ${error.message}\n`);
    process.stderr.write(`callrec: invalid config ${configPath}; nothing started\n`);
    return 1;
  }
  const logger = createLogger({ level: loaded.config.log.level });
  for (const warning of loaded.warnings) logger.warn({ config: configPath }, `config: ${warning}`);
  // SPEC §4/§7: keys and the file that decides who is recorded must not be open to others
  const permissions = await checkFilePermissions(loaded.config, configPath);
  for (const finding of permissions) {
    if (finding.severity === 'error') process.stderr.write(`callrec: ${finding.message}\n`);
    else logger.warn({ file: finding.file, mode: finding.mode.toString(8) }, finding.message);
  }
  if (permissions.some((finding) => finding.severity === 'error')) {
    process.stderr.write('callrec: unsafe file permissions; nothing started\n');
    return 1;
  }
  // Privacy by default (SPEC §7): files callrec creates are 0600 and folders 0700, whatever the
  // shell's umask (files with an explicit mode, like the keystore and the database, are exact anyway)
  const umask = process.umask(0o077); // returns the previous mask (no-argument umask() is deprecated)
  process.umask(umask | 0o077);
  let server: RunningServer;
  try {
    server = await startServer(loaded.config, configPath, logger);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, 'could not start');
    return 1;
  }
  logThreadPool(logger);
  let current = loaded.config;
  const memoryLog = logMemoryPeriodically(logger);
  const stopWatching = watchConfig(configPath, {
    onReload: (next, warnings, trigger) => {
      for (const warning of warnings) logger.warn({ config: configPath }, `config: ${warning}`);
      const restart = sectionsNeedingRestart(current, next);
      server.reconfigure(next);
      current = next;
      logger.info(
        { config: configPath, trigger, ...(restart.length === 0 ? {} : { needsRestart: restart }) },
        restart.length === 0
          ? 'config reloaded; new calls use it'
          : `config reloaded; new calls use it; changes to ${restart.join(', ')} take effect after a restart`,
      );
    },
    onInvalid: (errors, trigger) => {
      logger.error(
        {
          config: configPath,
          trigger,
          errors: errors.map((error) => ({ path: error.path === '' ? '/' : error.path, message: error.message })),
        },
        `config edit rejected, the running config stays: ${errors
          .map((error) => `${error.path === '' ? '/' : error.path}: ${error.message}`)
          .join('; ')}`,
      );
    },
  });
  logger.info({ signal: await signal }, 'stopping');
  stopWatching();
  if (memoryLog !== undefined) clearInterval(memoryLog);
  try {
    // A second SIGTERM/SIGINT during the grace period hangs up at once (recordings still finalised)
    const again = new AbortController();
    process.once('SIGTERM', () => again.abort());
    process.once('SIGINT', () => again.abort());
    await server.close({ graceSeconds: current.b2bua.shutdownGraceSeconds, cutShort: again.signal });
    logger.info('stopped');
    return 0;
  } catch (error) {
    logger.error({ err: String(error) }, 'error while stopping');
    return 1;
  }
}

/** Sections a reload cannot apply to a running server (listeners, ports, files, keys). */
const RESTART_SECTIONS = ['installation', 'sip', 'media', 'admin', 'log'] as const;

function sectionsNeedingRestart(before: CallrecConfig, after: CallrecConfig): string[] {
  return RESTART_SECTIONS.filter((section) => JSON.stringify(before[section]) !== JSON.stringify(after[section]));
}

/** Below this, WAV writes and fsyncs of a few hundred recorded calls starve sqlite and finalisation. */
const RECOMMENDED_THREAD_POOL = 16;

/**
 * libuv's pool size is fixed before any of our code runs (bin/callrec sets 16 unless the
 * environment says otherwise), so all `run` can do is say what it got and warn when it is small.
 */
function logThreadPool(logger: Logger): void {
  const configured = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const threads = Number.isInteger(configured) && configured > 0 ? Math.min(configured, 1024) : 4;
  if (threads < RECOMMENDED_THREAD_POOL)
    logger.warn(
      { threadPool: threads, recommended: RECOMMENDED_THREAD_POOL },
      `UV_THREADPOOL_SIZE=${threads}: WAV writes, fsyncs and the database share these threads; under load recordings queue and memory grows. Start callrec through bin/callrec or set UV_THREADPOOL_SIZE=${RECOMMENDED_THREAD_POOL}`,
    );
  else logger.info({ threadPool: threads }, 'thread pool');
}

/**
 * With `CALLREC_LOG_MEMORY_SECONDS=N` (soak runs, `npm run soak`): one `"msg":"memory"` info line
 * every N seconds with the process's RSS and V8 heap, in bytes.
 */
function logMemoryPeriodically(logger: Logger): NodeJS.Timeout | undefined {
  const seconds = Number(process.env['CALLREC_LOG_MEMORY_SECONDS'] ?? 0);
  if (!(seconds > 0)) return undefined;
  const timer = setInterval(() => {
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    logger.info({ rss, heapUsed, heapTotal, external, arrayBuffers }, 'memory');
  }, seconds * 1000);
  timer.unref();
  return timer;
}
