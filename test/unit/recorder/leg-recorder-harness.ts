/** The LegRecorder test harness: a recorder on an injected clock, fed in arrival order with 20 ms ticks. */
import { LegRecorder, type LegRecorderOptions } from '../../../src/recorder/leg-recorder.js';
import type { RecorderPacket } from '../../../src/recorder/recorder-packet.js';
import { RecordingClock } from '../../../src/recorder/timeline.js';
import { fakeDecoderFor, FORMATS, RecordingSink } from './recorder-fakes.js';

export const START = 50_000;

export interface Harness {
  readonly recorder: LegRecorder;
  readonly sink: RecordingSink;
  readonly clock: RecordingClock;
  /** Pushes packets in arrival order, ticking every 20 ms, up to `untilMs` (absolute). */
  run(packets: readonly RecorderPacket[], untilMs: number): void;
  /** Sets the injected clock. */
  at(ms: number): void;
}

export function harness(options: Partial<LegRecorderOptions> = {}, clock?: RecordingClock): Harness {
  let now = START;
  const shared = clock ?? new RecordingClock({ now: () => now, startMs: START });
  const sink = new RecordingSink();
  const recorder = new LegRecorder({
    clock: shared,
    sink,
    formats: FORMATS,
    decoderFor: fakeDecoderFor,
    outputSampleRate: 8000,
    now: () => now,
    ...options,
  });
  let tickAt = START;
  return {
    recorder,
    sink,
    clock: shared,
    at: (ms) => {
      now = ms;
    },
    run(packets, untilMs) {
      const sorted = [...packets].sort((a, b) => a.arrivalMs - b.arrivalMs);
      let i = 0;
      for (; tickAt <= untilMs; tickAt += 20) {
        while (i < sorted.length && sorted[i]!.arrivalMs <= tickAt) {
          now = sorted[i]!.arrivalMs;
          recorder.push(sorted[i++]!);
        }
        now = tickAt;
        recorder.tick(tickAt);
      }
      while (i < sorted.length) recorder.push(sorted[i++]!);
    },
  };
}

/** The payload values of the audio frames, one per 160-frame packet. */
export function packetValues(samples: readonly number[], frames = 160): number[] {
  const values: number[] = [];
  for (let i = 0; i < samples.length; i += frames) values.push(samples[i]!);
  return values;
}

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (from + i) & 0x7f);
}
