import type { TimelineSpan } from './leg-stats.js';
import type { WavBacklog } from './wav-writer-options.js';

/** What the backlog watch of one writer needs to know. */
export interface BacklogWatchOptions {
  readonly path: string;
  /** Data bytes per second of audio (frames/s × block align). */
  readonly bytesPerSecond: number;
  readonly alarmBytes: number;
  readonly slowWriteMs: number;
  readonly onBacklog: ((backlog: WavBacklog) => void) | undefined;
}

/**
 * The backlog bookkeeping of one WavWriter: raises `onBacklog` once per episode (pending bytes
 * above the alarm level, or a slow write), ends the episode with hysteresis, and keeps the spans
 * of audio dropped under backlog (merged when adjacent), in ms of the file.
 */
export class BacklogWatch {
  readonly #options: BacklogWatchOptions;
  readonly #spans: Array<{ start: number; end: number }> = [];
  #active = false;
  #episodes = 0;
  #slowestMs = 0;
  #lastWriteMs = 0;

  constructor(options: BacklogWatchOptions) {
    this.#options = options;
  }

  /** Backlog episodes so far. */
  get episodes(): number {
    return this.#episodes;
  }

  /** Whether an episode is running. */
  get active(): boolean {
    return this.#active;
  }

  /** After data was queued: `pendingBytes` now wait for the disk. */
  queued(pendingBytes: number, droppedBytes: number): void {
    if (!this.#active && pendingBytes > this.#options.alarmBytes) this.#raise('pending', pendingBytes, droppedBytes);
  }

  /** A write finished after `ms`, leaving `pendingBytes`; may start or end an episode. */
  wrote(ms: number, pendingBytes: number, droppedBytes: number): void {
    this.#lastWriteMs = ms;
    if (this.#active) {
      this.#slowestMs = Math.max(this.#slowestMs, ms);
      if (pendingBytes <= this.#options.alarmBytes / 2 && ms < this.#options.slowWriteMs) this.#active = false;
    } else if (ms > this.#options.slowWriteMs) {
      this.#raise('slow-write', pendingBytes, droppedBytes);
    }
  }

  /** Periodic check: a write running for `runningMs` (0: none) that is already too slow starts an episode. */
  check(runningMs: number, pendingBytes: number, droppedBytes: number): void {
    if (this.#active || runningMs <= this.#options.slowWriteMs) return;
    this.#lastWriteMs = runningMs;
    this.#raise('slow-write', pendingBytes, droppedBytes);
  }

  /** `bytes` of audio starting at data byte `offset` were dropped (written as silence). */
  dropped(offset: number, bytes: number): void {
    const last = this.#spans.at(-1);
    if (last !== undefined && last.end === offset) last.end = offset + bytes;
    else this.#spans.push({ start: offset, end: offset + bytes });
  }

  /** The dropped spans in ms of the file. */
  spans(): TimelineSpan[] {
    const msPerByte = 1000 / this.#options.bytesPerSecond;
    return this.#spans.map(({ start, end }) => ({
      startMs: start * msPerByte,
      endMs: end * msPerByte,
      reason: 'recorder-backlog',
    }));
  }

  #raise(reason: WavBacklog['reason'], pendingBytes: number, droppedBytes: number): void {
    this.#active = true;
    this.#episodes++;
    this.#slowestMs = this.#lastWriteMs;
    const listener = this.#options.onBacklog;
    if (listener === undefined) return;
    try {
      listener({
        path: this.#options.path,
        reason,
        pendingBytes,
        pendingMs: Math.round((pendingBytes * 1000) / this.#options.bytesPerSecond),
        writeMs: Math.round(this.#slowestMs),
        droppedBytes,
      });
    } catch {
      // listener exceptions are isolated (DESIGN): the writer and the relay go on
    }
  }
}
