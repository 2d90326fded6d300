import { silenceByte, type WavFormat } from './wav-format.js';

/**
 * Free buffers kept per batch size; more are left to the GC. Writers give a batch back a few ms
 * after taking the next one (once its write is done), so a few free ones cover the churn; a
 * burst (a stall, the disk lagging) does not keep its peak for good.
 */
const MAX_FREE = 32;

/**
 * Batch buffers shared by every WavWriter with the same batch size. A writer takes one to fill,
 * queues it for the disk and gives it back once written, so N writers need about N buffers plus
 * those waiting for the disk — not a private pair each. Buffers are not zeroed: a writer only
 * writes the bytes it filled.
 */
export class BatchPool {
  static readonly #pools = new Map<number, BatchPool>();
  readonly bytes: number;
  readonly #free: Buffer[] = [];
  #inUse = 0;

  private constructor(bytes: number) {
    this.bytes = bytes;
  }

  /** The pool of `bytes`-sized buffers. */
  static of(bytes: number): BatchPool {
    let pool = BatchPool.#pools.get(bytes);
    if (pool === undefined) {
      pool = new BatchPool(bytes);
      BatchPool.#pools.set(bytes, pool);
    }
    return pool;
  }

  /** Buffers handed out and not yet given back. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Buffers kept for reuse. */
  get free(): number {
    return this.#free.length;
  }

  take(): Buffer {
    this.#inUse++;
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }

  give(buffer: Buffer): void {
    this.#inUse--;
    if (this.#free.length < MAX_FREE) this.#free.push(buffer);
  }
}

/** Size of the shared silence blocks: one write per 64 KiB of a gap (2 s of 16 kHz mono). */
const SILENCE_BLOCK_BYTES = 65536;
const silenceBlocks = new Map<WavFormat, Buffer>();

/** A read-only block of `format` silence (64 KiB, a multiple of 4) shared by every writer; never written into. */
export function silenceBlock(format: WavFormat): Buffer {
  let block = silenceBlocks.get(format);
  if (block === undefined) {
    block = Buffer.alloc(SILENCE_BLOCK_BYTES, silenceByte(format));
    silenceBlocks.set(format, block);
  }
  return block;
}
