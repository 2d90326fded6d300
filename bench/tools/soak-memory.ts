/** Memory samples of the callrec process during `bench/soak.ts`: RSS from /proc, heap from its log. */
import { rssKiB } from './cpu-window.js';

export interface MemorySample {
  /** Seconds since the soak started. */
  readonly atS: number;
  readonly kiB: number;
}

/** Mean of the samples in [fromS, toS]; NaN without any. */
export function meanIn(samples: readonly MemorySample[], fromS: number, toS: number): number {
  const inside = samples.filter((s) => s.atS >= fromS && s.atS <= toS);
  return inside.length === 0 ? NaN : inside.reduce((sum, s) => sum + s.kiB, 0) / inside.length;
}

/** The start and end windows of a run: after the warm-up, and just before the calls are hung up. */
export interface MemoryWindows {
  readonly start: readonly [number, number];
  readonly end: readonly [number, number];
}

/** Windows of `min(60 s, a third of the measured time)` at both ends of [warmupS, runS]. */
export function memoryWindows(warmupS: number, runS: number): MemoryWindows {
  const width = Math.max(5, Math.min(60, (runS - warmupS) / 3));
  return { start: [warmupS, warmupS + width], end: [runS - width, runS] };
}

/** Growth from the start window to the end window, in %; NaN when a window has no sample. */
export function growthPercent(
  samples: readonly MemorySample[],
  windows: MemoryWindows,
): {
  readonly startKiB: number;
  readonly endKiB: number;
  readonly percent: number;
} {
  const startKiB = meanIn(samples, ...windows.start);
  const endKiB = meanIn(samples, ...windows.end);
  return { startKiB, endKiB, percent: ((endKiB - startKiB) / startKiB) * 100 };
}

/** Samples callrec's VmRSS every `everyMs` until stopped. */
export class RssSampler {
  readonly samples: MemorySample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, startedAt: number, everyMs = 5000) {
    const sample = async (): Promise<void> => {
      const kiB = await rssKiB(pid);
      if (!Number.isNaN(kiB)) this.samples.push({ atS: (performance.now() - startedAt) / 1000, kiB });
    };
    void sample();
    this.#timer = setInterval(() => void sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** `"msg":"memory"` lines of callrec (CALLREC_LOG_MEMORY_SECONDS) as heap samples. */
export class HeapLog {
  readonly samples: MemorySample[] = [];
  readonly #startedAt: number;

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
  }

  /** Feed every parsed log line. */
  readonly onLog = (entry: Readonly<Record<string, unknown>>): void => {
    if (entry['msg'] !== 'memory' || typeof entry['heapUsed'] !== 'number') return;
    this.samples.push({ atS: (performance.now() - this.#startedAt) / 1000, kiB: entry['heapUsed'] / 1024 });
  };
}

export function mib(kiB: number): string {
  return Number.isNaN(kiB) ? '-' : `${(kiB / 1024).toFixed(1)} MiB`;
}
