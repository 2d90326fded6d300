import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfig, type ConfigError } from './load-config.js';
import type { CallrecConfig } from './types.js';

export interface ConfigWatchOptions {
  /** A valid new config; the caller swaps it in for new calls. */
  readonly onReload: (config: CallrecConfig, warnings: readonly string[], trigger: 'file' | 'signal') => void;
  /** An invalid edit: the old config stays. */
  readonly onInvalid: (errors: readonly ConfigError[], trigger: 'file' | 'signal') => void;
  /** Quiet time after the last change before reloading (editors write in several steps). @default 300 */
  readonly debounceMs?: number;
  /** Also reload on SIGHUP. @default true */
  readonly sighup?: boolean;
}

/**
 * Reloads the config file when it changes (debounced) or on SIGHUP (SPEC §8). The directory is
 * watched, not the file, so editors that save by rename are seen too. Returns a stop function.
 */
export function watchConfig(path: string, options: ConfigWatchOptions): () => void {
  const file = resolve(path);
  const name = basename(file);
  const debounceMs = options.debounceMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again: 'file' | 'signal' | undefined;

  const reload = async (trigger: 'file' | 'signal'): Promise<void> => {
    if (running) {
      again = trigger;
      return;
    }
    running = true;
    try {
      const result = await loadConfig(file);
      if (result.ok) options.onReload(result.config, result.warnings, trigger);
      else options.onInvalid(result.errors, trigger);
    } finally {
      running = false;
      const next = again;
      again = undefined;
      if (next !== undefined) void reload(next);
    }
  };
  const schedule = (trigger: 'file' | 'signal') => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload(trigger);
    }, debounceMs);
    timer.unref();
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed === null || changed === name) schedule('file');
    });
  } catch {
    watcher = undefined; // no inotify: SIGHUP still works
  }
  const onSignal = () => schedule('signal');
  if (options.sighup !== false) process.on('SIGHUP', onSignal);
  return () => {
    watcher?.close();
    if (timer !== undefined) clearTimeout(timer);
    if (options.sighup !== false) process.off('SIGHUP', onSignal);
  };
}
