import type { AppError } from '../errors.js';
import type { WavContainer, WavFormat } from './wav-format.js';

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
  /** Size of one disk write; rounded down to a multiple of 4. @default 32768 */
  readonly batchBytes?: number;
  /**
   * Backlog limit. Audio arriving while this much waits for the disk is dropped, counted in
   * `droppedBytes` and later written as silence of the same length so the timeline stays aligned.
   * @default 4 MiB
   */
  readonly maxPendingBytes?: number;
  /** Called once with the first disk error; the writer then stops writing. */
  readonly onError?: (error: AppError) => void;
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
  /** Audio bytes lost (replaced by silence under backlog). */
  readonly droppedBytes: number;
  readonly durationMs: number;
}
