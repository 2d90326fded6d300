import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';
import type { Logger } from '../observability/index.js';
import type { UploadJob, UploadStore, UploadTargetStatus } from '../store/index.js';
import { expandFolder, localTimeZone } from './path-template.js';
import { deliverRecording } from './recording-delivery.js';
import type { ArchiveTarget } from './targets/archive-target.js';

/** Time and timers of the queue, injectable so tests run on virtual time. */
export interface UploadClock {
  now(): Date;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What every event knows of the recording. */
export interface RecordingFacts {
  readonly recordingId: string;
  /** The recording's profile, when it was given to `enqueue`. */
  readonly profileId: string | undefined;
  readonly start: Date;
}

/** An attempt of one recording to one target failed; it is retried at `nextAttemptAt`. */
export interface AttemptFailedEvent extends RecordingFacts {
  readonly targetId: string;
  readonly error: AppError;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  readonly nextAttemptAt: Date;
}

/** A recording is on a target, read back and verified. */
export interface DeliveredEvent extends RecordingFacts {
  readonly targetId: string;
  readonly attempts: number;
  readonly files: number;
  readonly bytes: number;
}

/** Every target of a recording has it. */
export interface ArchivedEvent extends RecordingFacts {
  /** The targets that have it. */
  readonly targets: readonly string[];
  /** Whether the spool copy was removed (false with `keepLocal`). */
  readonly localRemoved: boolean;
}

/** A recording handed to {@link UploadQueue.enqueue}. */
export interface ArchiveRecording {
  readonly id: string;
  /** The sealed spool folder `<dataDir>/recordings/<id>`. */
  readonly dir: string;
  /** Start of the recording; the folder templates expand from it. */
  readonly start: Date;
  readonly profile?: string;
  /** The profile's targets, each with its (unexpanded) folder template. */
  readonly targets: ReadonlyArray<{ readonly targetId: string; readonly folder: string }>;
}

/** Options of {@link UploadQueue}. */
export interface UploadQueueOptions {
  /** The configured targets; a target's `id` is how uploads name it. */
  readonly targets: readonly ArchiveTarget[];
  readonly store: UploadStore;
  /** Poll interval and first retry delay. @default 60 */
  readonly intervalSeconds?: number;
  /** Uploads at once per target. @default 2 */
  readonly concurrency?: number;
  /** Cap of the doubling retry delay. @default 3600 */
  readonly maxBackoffSeconds?: number;
  /** Keep the spool copy when every target has the recording. @default false */
  readonly keepLocal?: boolean;
  /** IANA time zone of the folder templates. @default the host's local zone */
  readonly timeZone?: string;
  /** Share of a retry delay taken off at random, so failed uploads do not retry in lockstep. @default 0.1 */
  readonly jitter?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default Date and unref'd setTimeout */
  readonly clock?: UploadClock;
  readonly logger?: Logger;
  readonly onAttemptFailed?: (event: AttemptFailedEvent) => void;
  readonly onDelivered?: (event: DeliveredEvent) => void;
  readonly onArchived?: (event: ArchivedEvent) => void;
  /** A target that had failed attempts delivered again. */
  readonly onRecovered?: (targetId: string) => void;
}

/** The retry delay after `attempts` failed attempts: the interval, doubling, capped (no jitter). */
export function backoffSeconds(attempts: number, intervalSeconds: number, maxBackoffSeconds: number): number {
  const exponent = Math.min(Math.max(attempts - 1, 0), 52);
  return Math.min(maxBackoffSeconds, intervalSeconds * 2 ** exponent);
}

const systemClock: UploadClock = {
  now: () => new Date(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * The uploader (SPEC §6): moves sealed recordings from the spool to every target of their
 * profile. The queue lives in the {@link UploadStore}, so it survives restarts; every interval
 * (and at once on enqueue, and whenever an upload of the target ends) it claims due uploads per
 * target up to `concurrency`. A failed attempt is retried after the interval, doubling up to
 * `maxBackoffSeconds` (at once the cap for a non-retriable error). When every target has a recording, the spool copy is removed unless
 * `keepLocal`. Event callbacks are isolated: one that throws is logged and changes nothing.
 */
export class UploadQueue {
  readonly #targets: ReadonlyMap<string, ArchiveTarget>;
  readonly #store: UploadStore;
  readonly #intervalMs: number;
  readonly #intervalSeconds: number;
  readonly #maxBackoffSeconds: number;
  readonly #concurrency: number;
  readonly #keepLocal: boolean;
  readonly #timeZone: string;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #clock: UploadClock;
  readonly #options: UploadQueueOptions;
  /** Uploads in flight per target. */
  readonly #inflight = new Map<string, number>();
  readonly #claiming = new Set<string>();
  readonly #claimAgain = new Set<string>();
  readonly #tasks = new Set<Promise<void>>();
  /** Targets whose last attempt failed, for `onRecovered`. */
  readonly #failing = new Set<string>();
  readonly #archiving = new Set<string>();
  #running = false;
  #starting: Promise<void> | undefined;
  #timer: unknown;

  constructor(options: UploadQueueOptions) {
    this.#targets = new Map(options.targets.map((target) => [target.id, target]));
    if (this.#targets.size !== options.targets.length) throw new Error('UploadQueue: target ids must be unique');
    this.#store = options.store;
    this.#intervalSeconds = options.intervalSeconds ?? 60;
    this.#intervalMs = this.#intervalSeconds * 1000;
    this.#maxBackoffSeconds = options.maxBackoffSeconds ?? 3600;
    this.#concurrency = options.concurrency ?? 2;
    if (!(this.#intervalSeconds > 0) || !(this.#concurrency >= 1) || !(this.#maxBackoffSeconds > 0)) {
      throw new Error('UploadQueue: intervalSeconds, maxBackoffSeconds and concurrency must be positive');
    }
    this.#keepLocal = options.keepLocal ?? false;
    this.#timeZone = options.timeZone ?? localTimeZone();
    this.#jitter = options.jitter ?? 0.1;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? systemClock;
    this.#options = options;
  }

  /**
   * Starts uploading: uploads a crash left `uploading` become due again (the target's upload
   * replaces their temporaries), archiving a crash interrupted is finished, due uploads are
   * claimed at once and then every interval. Idempotent.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#running) return;
    // Nothing is claimed before the reset, or it would reset an upload of this process.
    const reset = await this.#store.resetInterrupted(this.#clock.now());
    if (reset > 0) this.#options.logger?.info({ uploads: reset }, 'interrupted uploads queued again');
    for (const status of await this.#store.status()) {
      if (status.failed > 0) this.#failing.add(status.targetId);
    }
    for (const { recordingId, dir } of await this.#store.archivable()) await this.#archive(recordingId, dir);
    this.#running = true;
    this.#tick();
  }

  /** Stops claiming and resolves when the uploads in flight have ended. Idempotent. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  /**
   * Queues a sealed recording for its targets, expanding each folder template from its start,
   * and starts uploading at once when running. Rejects with `ARCHIVE_CONFIG` for a target that is
   * not configured and `ARCHIVE_PATH` for a bad template, before anything is queued.
   */
  async enqueue(recording: ArchiveRecording): Promise<void> {
    const targets = recording.targets.map(({ targetId, folder }) => {
      if (!this.#targets.has(targetId)) {
        throw new AppError('ARCHIVE_CONFIG', `recording ${recording.id}: target ${targetId} is not configured`);
      }
      return { targetId, folder: expandFolder(folder, recording.start, this.#timeZone) };
    });
    if (targets.length === 0) return;
    await this.#store.enqueue(
      {
        recordingId: recording.id,
        dir: recording.dir,
        profile: recording.profile ?? null,
        start: recording.start.toISOString(),
        targets,
      },
      this.#clock.now(),
    );
    for (const { targetId } of targets) this.#claim(targetId);
  }

  /** `uploads status`: one entry per configured target (and per target that still has rows). */
  async status(): Promise<UploadTargetStatus[]> {
    const rows = new Map((await this.#store.status()).map((row) => [row.targetId, row]));
    const empty = (targetId: string): UploadTargetStatus => ({
      targetId,
      pending: 0,
      uploading: 0,
      failed: 0,
      done: 0,
      oldestPendingSince: null,
      lastError: null,
      lastErrorAt: null,
      nextAttemptAt: null,
    });
    const configured = [...this.#targets.keys()].map((id) => rows.get(id) ?? empty(id));
    return [...configured, ...[...rows.values()].filter((row) => !this.#targets.has(row.targetId))];
  }

  /** `uploads retry`: failed uploads become due now and are claimed at once; resolves with their number. */
  async retryFailed(): Promise<number> {
    const count = await this.#store.retryAll(this.#clock.now());
    for (const targetId of this.#targets.keys()) this.#claim(targetId);
    return count;
  }

  /** Resolves when no claim and no upload is in flight (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  #tick(): void {
    if (!this.#running) return;
    for (const targetId of this.#targets.keys()) this.#claim(targetId);
    this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#intervalMs);
  }

  /**
   * Claims due uploads of `targetId` up to the free concurrency and starts them. One claim per
   * target at a time; a request meanwhile (a tick, an enqueue) runs once it has returned.
   */
  #claim(targetId: string): void {
    if (!this.#running) return;
    if (this.#claiming.has(targetId)) {
      this.#claimAgain.add(targetId);
      return;
    }
    const free = this.#concurrency - (this.#inflight.get(targetId) ?? 0);
    if (free <= 0) return; // the end of an upload claims again
    this.#claiming.add(targetId);
    this.#track(
      this.#store
        .claimDue(targetId, this.#clock.now(), free)
        .then(
          (jobs) => {
            this.#inflight.set(targetId, (this.#inflight.get(targetId) ?? 0) + jobs.length);
            for (const job of jobs) this.#track(this.#attempt(job));
          },
          (error: unknown) => {
            this.#options.logger?.error({ err: error, targetId }, 'cannot claim uploads');
          },
        )
        .finally(() => {
          this.#claiming.delete(targetId);
          if (this.#claimAgain.delete(targetId)) this.#claim(targetId);
        }),
    );
  }

  #track(task: Promise<void>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
  }

  async #attempt(job: UploadJob): Promise<void> {
    const { recordingId, targetId } = job;
    const log = this.#options.logger?.child({ recordingId, targetId });
    try {
      const target = this.#targets.get(targetId);
      if (target === undefined) throw new Error(`no target ${targetId}`); // claims only name configured targets
      let delivered: { files: readonly string[]; bytes: number };
      try {
        delivered = await deliverRecording(target, job.dir, recordingId, job.folder);
      } catch (error) {
        await this.#failed(job, asArchiveError(error));
        return;
      }
      await this.#store.markDone(recordingId, targetId, this.#clock.now());
      log?.info({ attempts: job.attempts, files: delivered.files.length, bytes: delivered.bytes }, 'upload delivered');
      this.#emit('onDelivered', () =>
        this.#options.onDelivered?.({
          ...facts(job),
          targetId,
          attempts: job.attempts,
          files: delivered.files.length,
          bytes: delivered.bytes,
        }),
      );
      if (this.#failing.delete(targetId)) {
        log?.info('target recovered');
        this.#emit('onRecovered', () => this.#options.onRecovered?.(targetId));
      }
      if (await this.#store.allDone(recordingId)) await this.#archive(recordingId, job.dir);
    } catch (error) {
      // The store failed (or a bug): the row stays `uploading` until the next start resets it.
      log?.error({ err: error }, 'upload bookkeeping failed');
    } finally {
      this.#inflight.set(targetId, (this.#inflight.get(targetId) ?? 1) - 1);
      this.#claim(targetId);
    }
  }

  async #failed(job: UploadJob, error: AppError): Promise<void> {
    const now = this.#clock.now();
    // A non-retriable error (wrong password, corrupted spool copy) waits the longest delay at once:
    // it needs an admin, and repeated bad logons can lock the account.
    const delay = error.retriable
      ? backoffSeconds(job.attempts, this.#intervalSeconds, this.#maxBackoffSeconds)
      : this.#maxBackoffSeconds;
    const jittered = delay * (1 - this.#jitter * Math.min(Math.max(this.#random(), 0), 1));
    const nextAttemptAt = new Date(now.getTime() + Math.round(jittered * 1000));
    await this.#store.markFailed(job.recordingId, job.targetId, `${error.code}: ${error.message}`, nextAttemptAt, now);
    this.#failing.add(job.targetId);
    this.#options.logger?.warn(
      { recordingId: job.recordingId, targetId: job.targetId, err: error, attempts: job.attempts, nextAttemptAt },
      'upload attempt failed',
    );
    this.#emit('onAttemptFailed', () =>
      this.#options.onAttemptFailed?.({
        ...facts(job),
        targetId: job.targetId,
        error,
        attempts: job.attempts,
        nextAttemptAt,
      }),
    );
  }

  /** Every target has the recording: remove the spool copy (unless keepLocal), mark it archived. */
  async #archive(recordingId: string, dir: string): Promise<void> {
    if (this.#archiving.has(recordingId)) return; // another target's upload is archiving it
    this.#archiving.add(recordingId);
    try {
      let localRemoved = false;
      if (!this.#keepLocal) {
        if (basename(dir) === recordingId) {
          await rm(dir, { recursive: true, force: true });
          localRemoved = true;
        } else {
          this.#options.logger?.warn({ recordingId, dir }, 'spool folder not named after the recording; kept');
        }
      }
      if (!(await this.#store.markArchived(recordingId, localRemoved, this.#clock.now()))) return;
      const uploads = await this.#store.uploadsOf(recordingId);
      const targets = uploads.map((upload) => upload.targetId);
      this.#options.logger?.debug({ recordingId, targets, localRemoved }, 'every target done');
      const first = uploads[0];
      if (first === undefined) return; // archivable recordings have uploads
      this.#emit('onArchived', () => this.#options.onArchived?.({ ...facts(first), targets, localRemoved }));
    } catch (error) {
      this.#options.logger?.error({ err: error, recordingId }, 'cannot finish archiving; retried at the next start');
    } finally {
      this.#archiving.delete(recordingId);
    }
  }

  #emit(name: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#options.logger?.error({ err: error, listener: name }, 'archive event listener threw');
    }
  }
}

function facts(job: UploadJob): RecordingFacts {
  return { recordingId: job.recordingId, profileId: job.profile ?? undefined, start: new Date(job.start) };
}

/** A target's AppError as is; anything else (a target bug) as a retriable `ARCHIVE_IO`. */
function asArchiveError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('ARCHIVE_IO', `unexpected failure: ${message}`, { cause: error, retriable: true });
}
