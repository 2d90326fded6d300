import type { FileHandle } from 'node:fs/promises';
import type { AppError } from '../errors.js';
import type { TimelineSpan } from './leg-stats.js';
import type { WavContainer, WavFormat } from './wav-format.js';

/** What {@link WavWriterOptions.onBacklog} is told when the disk falls behind the audio. */
export interface WavBacklog {
  readonly path: string;
  /** `pending`: more than `backlogAlarmBytes` wait for the disk; `slow-write`: one write took longer than `slowWriteMs`. */
  readonly reason: 'pending' | 'slow-write';
  readonly pendingBytes: number;
  /** The same backlog as audio time. */
  readonly pendingMs: number;
  /** The slowest write of the episode so far (a write still running counts with its age). */
  readonly writeMs: number;
  /** Audio bytes dropped so far (oldest batches past `maxPendingBytes`). */
  readonly droppedBytes: number;
}

/** Options of {@link WavWriter.open}. */
export interface WavWriterOptions {
  readonly format: WavFormat;
  /** 1 or 2 (interleaved). */
  readonly channels: number;
  readonly sampleRate: number;
  /** Data bytes past which the header becomes RF64 in place. @default 0xFFFFFFFF − header length */
  readonly rf64ThresholdBytes?: number;
  /** Longest time between header patches while data arrives. @default 5000 */
  readonly patchIntervalMs?: number;
  /**
   * Size of one disk write; rounded down to a multiple of 4. Batch buffers come from a pool shared
   * by all writers of the same size (one per writer while it fills, plus those waiting for the
   * disk). @default 16384 (about 1 s of 8 kHz mono PCM16)
   */
  readonly batchBytes?: number;
  /**
   * Hard cap on audio waiting for the disk. Past it the oldest batch not yet being written is
   * dropped: written as silence of the same length (the timeline stays aligned), counted in
   * `droppedBytes` and listed in `droppedSpans`. The caller is never blocked. @default 1 MiB
   */
  readonly maxPendingBytes?: number;
  /**
   * Backlog that raises `onBacklog` (the disk is slower than the audio).
   * @default 5 s of audio at the file's rate, at least 4 batches
   */
  readonly backlogAlarmBytes?: number;
  /** A single write (or one still running) taking longer raises `onBacklog`. @default 2000 */
  readonly slowWriteMs?: number;
  /**
   * Called once per backlog episode, when it starts; the episode ends once the backlog is below
   * half of `backlogAlarmBytes` and writes are fast again. Exceptions are ignored.
   */
  readonly onBacklog?: (backlog: WavBacklog) => void;
  /** Called once with the first disk error; the writer then stops writing. */
  readonly onError?: (error: AppError) => void;
  /** Creates the file (tests inject a slow disk). @default `open(path, 'wx', 0o640)`: never replaces a file */
  readonly createFile?: (path: string) => Promise<FileHandle>;
}

/** What a closed WAV file holds. */
export interface WavFileSummary {
  readonly path: string;
  readonly format: WavFormat;
  readonly channels: number;
  readonly sampleRate: number;
  readonly container: WavContainer;
  readonly frames: number;
  readonly dataBytes: number;
  readonly fileBytes: number;
  /** Audio bytes lost: dropped under backlog (as silence) or after a disk error. */
  readonly droppedBytes: number;
  /** Where backlog drops put silence instead of audio, in ms of the file (reason `recorder-backlog`). */
  readonly droppedSpans?: readonly TimelineSpan[];
  /** Backlog episodes (see `onBacklog`). */
  readonly backlogEpisodes?: number;
  readonly durationMs: number;
}
