import { mkdir, open, rm, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/index.js';
import type { RecorderHealth } from '../policy/index.js';

/** What `statfs` reports that matters here: blocks available to unprivileged users and their size. */
export interface SpoolFsStats {
  readonly bavail: number;
  readonly bsize: number;
}

/** Raised for `spool-reserve` and `recording-failed`; the composition root logs and counts them. */
export type AlarmHandler = (name: string, details: Record<string, unknown>) => void;

/** The spool as last checked. */
export interface SpoolState {
  /** Free bytes for callrec on the spool's filesystem; `undefined` when it could not be checked. */
  readonly freeBytes: number | undefined;
  readonly reserveBytes: number;
  readonly belowReserve: boolean;
  /** Whether a new file could be created in the spool. */
  readonly writable: boolean;
  /** Short reasons the recorder cannot rely on the spool (told to refused callers); empty when fine. */
  readonly problems: readonly string[];
  /** Monotonic ms of the check. */
  readonly checkedAt: number;
}

export interface SpoolSpaceOptions {
  /** `<dataDir>/recordings`; created 0700 when missing, with callrec's own files in `.callrec/`. */
  readonly dir: string;
  /** Free bytes that must remain on the filesystem of `dir`; 0 disables the check. */
  readonly reserveBytes: number;
  /** How old the state may get before it is checked again. @default 2000 */
  readonly recheckMs?: number;
  /**
   * Bytes kept in `<dir>/.callrec/emergency-space` and given back when a write fails for lack of space, so
   * the recordings that hit the full disk can still be closed, described and sealed. 0: none.
   * @default 1 MiB
   */
  readonly emergencyBytes?: number;
  /** @default node:fs/promises statfs */
  readonly statfs?: (path: string) => Promise<SpoolFsStats>;
  /** Rejects when no new file can be created in the spool. @default creates and removes a probe file */
  readonly probe?: (dir: string) => Promise<void>;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
  readonly onAlarm?: AlarmHandler;
  readonly logger?: Logger;
}

const MIB = 1024 * 1024;
/** callrec's own files in the spool, apart from the recordings' folders (nothing else appears there). */
const OWN_DIR = '.callrec';
const EMERGENCY_FILE = join(OWN_DIR, 'emergency-space');
/** After a release the space stays free this long, so a quota that refuses writes is not refilled at once. */
const EMERGENCY_RECREATE_DELAY_MS = 60_000;
const PROBE_FILE = join(OWN_DIR, 'write-probe');

/**
 * The spool's free space against `installation.spoolReserveMegabytes` (SPEC §4, §9): checked with
 * statfs and a write probe every few seconds (and on demand), cached so that the call path reads it
 * without waiting. Going below the reserve raises the `spool-reserve` alarm once; an unwritable
 * spool raises `recording-failed`; recovery is logged.
 */
export class SpoolSpace {
  readonly dir: string;
  readonly reserveBytes: number;
  readonly #options: SpoolSpaceOptions;
  readonly #now: () => number;
  readonly #recheckMs: number;
  readonly #emergencyBytes: number;
  #state: SpoolState;
  #refreshing: Promise<SpoolState> | undefined;
  #emergencyHeld = false;
  #emergencyReleasedAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: SpoolSpaceOptions) {
    this.#options = options;
    this.dir = options.dir;
    this.reserveBytes = options.reserveBytes;
    this.#now = options.now ?? (() => performance.now());
    this.#recheckMs = options.recheckMs ?? 2000;
    this.#emergencyBytes = options.emergencyBytes ?? MIB;
    this.#state = {
      freeBytes: undefined,
      reserveBytes: options.reserveBytes,
      belowReserve: false,
      writable: true,
      problems: [],
      checkedAt: -Infinity,
    };
  }

  /** Creates the spool folder (0700), checks it once and keeps checking it every `recheckMs`. */
  static async open(options: SpoolSpaceOptions): Promise<SpoolSpace> {
    await mkdir(join(options.dir, OWN_DIR), { recursive: true, mode: 0o700 });
    const spool = new SpoolSpace(options);
    await spool.#adoptEmergencyFile();
    await spool.refresh();
    spool.#timer = setInterval(() => void spool.refresh(), spool.#recheckMs);
    spool.#timer.unref();
    return spool;
  }

  /** The last state; a check is started in the background when it is older than `recheckMs`. */
  state(): SpoolState {
    if (this.#now() - this.#state.checkedAt >= this.#recheckMs) void this.refresh();
    return this.#state;
  }

  /** The spool's part of the recorder's health, for the recording policy. */
  health(): RecorderHealth {
    return { problems: this.state().problems };
  }

  /** Checks now (concurrent calls share one check). Never rejects. */
  refresh(): Promise<SpoolState> {
    this.#refreshing ??= this.#check().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /**
   * A write failed for lack of space: gives the emergency space back so the failed recordings can
   * be closed and sealed, and checks again. Resolves with whether anything was released.
   */
  async releaseEmergencySpace(): Promise<boolean> {
    if (!this.#emergencyHeld) return false;
    this.#emergencyHeld = false;
    this.#emergencyReleasedAt = this.#now();
    try {
      await unlink(join(this.dir, EMERGENCY_FILE));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#options.logger?.warn(
      { spool: this.dir, bytes: this.#emergencyBytes },
      'spool full: emergency space released',
    );
    await this.refresh();
    return true;
  }

  /** Stops the periodic check. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<SpoolState> {
    const previous = this.#state;
    const problems: string[] = [];
    let freeBytes: number | undefined;
    try {
      const stats = await (this.#options.statfs ?? statfs)(this.dir);
      freeBytes = stats.bavail * stats.bsize;
    } catch (error) {
      problems.push(`spool not accessible (${errorCode(error)})`);
    }
    let writable = true;
    try {
      await (this.#options.probe ?? probeWrite)(this.dir);
    } catch (error) {
      writable = false;
      if (problems.length === 0) problems.push(`spool not writable (${errorCode(error)})`);
    }
    const belowReserve = freeBytes !== undefined && this.reserveBytes > 0 && freeBytes < this.reserveBytes;
    if (belowReserve) problems.push('spool below reserve');
    const next: SpoolState = {
      freeBytes,
      reserveBytes: this.reserveBytes,
      belowReserve,
      writable,
      problems,
      checkedAt: this.#now(),
    };
    this.#state = next;
    this.#report(previous, next);
    if (writable && freeBytes !== undefined) await this.#keepEmergencySpace(freeBytes);
    return next;
  }

  #report(previous: SpoolState, next: SpoolState): void {
    const details = {
      spool: this.dir,
      freeMiB: next.freeBytes === undefined ? null : Math.floor(next.freeBytes / MIB),
      reserveMiB: Math.floor(this.reserveBytes / MIB),
    };
    if (next.belowReserve && !previous.belowReserve) this.#options.onAlarm?.('spool-reserve', details);
    const unusable = next.problems.filter((problem) => problem !== 'spool below reserve');
    const wasUnusable = previous.problems.some((problem) => problem !== 'spool below reserve');
    if (unusable.length > 0 && !wasUnusable)
      this.#options.onAlarm?.('recording-failed', { ...details, problem: unusable.join('; ') });
    if (previous.problems.length > 0 && next.problems.length === 0)
      this.#options.logger?.info(details, 'spool usable again: free space above the reserve');
  }

  /** Creates the emergency file when there is room for it above the reserve. */
  async #keepEmergencySpace(freeBytes: number): Promise<void> {
    const size = this.#emergencyBytes;
    if (this.#closed || this.#emergencyHeld || size === 0 || freeBytes < this.reserveBytes + 2 * size) return;
    if (this.#now() - this.#emergencyReleasedAt < EMERGENCY_RECREATE_DELAY_MS) return;
    const path = join(this.dir, EMERGENCY_FILE);
    try {
      const handle = await open(path, 'w', 0o600);
      try {
        // Real blocks, not a sparse file: the space must exist when it is given back
        const zeros = Buffer.alloc(Math.min(size, MIB));
        for (let written = 0; written < size; written += zeros.length)
          await handle.write(zeros, 0, Math.min(zeros.length, size - written));
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.#emergencyHeld = true;
    } catch (error) {
      await rm(path, { force: true }).catch(() => undefined);
      this.#options.logger?.warn({ spool: this.dir, err: errorCode(error) }, 'cannot create the emergency space file');
    }
  }

  /** An emergency file left by an earlier run counts when it is whole. */
  async #adoptEmergencyFile(): Promise<void> {
    try {
      const { size } = await stat(join(this.dir, EMERGENCY_FILE));
      this.#emergencyHeld = this.#emergencyBytes > 0 && size >= this.#emergencyBytes;
    } catch {
      this.#emergencyHeld = false;
    }
  }
}

/** Creates and removes a small file: what every recording needs first. */
async function probeWrite(dir: string): Promise<void> {
  const path = join(dir, PROBE_FILE);
  const handle = await open(path, 'w', 0o600);
  await handle.close();
  await unlink(path);
}

/** Whether an error is the disk being full (ENOSPC, or EDQUOT: a quota reached). */
export function isOutOfSpace(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause !== undefined && depth < 4; depth++) {
    const code = (cause as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return error instanceof Error && /\bE(NOSPC|DQUOT)\b/.test(error.message);
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
