/** A span of the recording timeline, in milliseconds from the recording's start. */
export interface TimelineSpan {
  readonly startMs: number;
  readonly endMs: number;
  readonly reason: string;
}

/**
 * The completeness figures of one recorded leg (SPEC §4), returned by `LegRecorder.finish`.
 * Packet counts follow RFC 3550 A.3: `packetsLost` = expected − received in sequence (late packets
 * arrived, so they are not lost; they are missing from the audio all the same).
 */
export interface LegStats {
  /** Every packet pushed, whatever became of it. */
  readonly packetsReceived: number;
  /** From the sequence number ranges, summed over SSRC / sequence segments. */
  readonly packetsExpected: number;
  readonly packetsLost: number;
  /** Arrived after their place was played out (or too far from the sequence to place). */
  readonly packetsLate: number;
  readonly packetsDuplicate: number;
  readonly ssrcChanges: number;
  /** Sequence restarts on the same SSRC (RFC 3550 A.1: two consecutive packets far away). */
  readonly sequenceRestarts: number;
  /** Times the timestamp-driven position was re-synchronised to the wall clock. */
  readonly resyncs: number;
  /** Frames not written because their position was already written (never write backwards). */
  readonly framesDropped: number;
  /** RFC 4733 events (one per event, however many packets carried it). */
  readonly telephoneEvents: number;
  /** The digits of those events, only when the recorder was told to keep them. */
  readonly digits?: string;
  readonly cnPackets: number;
  /** Unknown payload type, no decoder, or a payload too big for a slot; written as silence. */
  readonly undecodablePackets: number;
  /** Exceptions caught on the packet path (sink or decoder failures). */
  readonly errors: number;
  readonly holdSpans: readonly TimelineSpan[];
  readonly pauseSpans: readonly TimelineSpan[];
  /** Arrival of the first / last packet, in ms on the recording timeline; null without packets. */
  readonly firstPacketMs: number | null;
  readonly lastPacketMs: number | null;
  readonly sampleRate: number;
  /** Frames written to the sink (silence included). */
  readonly samplesWritten: number;
  readonly durationMs: number;
}

/** Open/closed spans of one kind (hold or pause), with idempotent open and close. */
export class SpanLog {
  readonly #spans: TimelineSpan[] = [];
  #openStartMs = 0;
  #openReason = '';
  #open = false;

  /** Whether a span is open. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Opens a span at `atMs` unless one is open; returns whether it opened one. */
  open(atMs: number, reason: string): boolean {
    if (this.#open) return false;
    this.#open = true;
    this.#openStartMs = atMs;
    this.#openReason = reason;
    return true;
  }

  /** Closes the open span at `atMs`; returns whether one was open. */
  close(atMs: number): boolean {
    if (!this.#open) return false;
    this.#open = false;
    this.#spans.push({
      startMs: this.#openStartMs,
      endMs: Math.max(atMs, this.#openStartMs),
      reason: this.#openReason,
    });
    return true;
  }

  /** The closed spans. */
  list(): readonly TimelineSpan[] {
    return this.#spans.slice();
  }
}

/** The running counters of one leg recorder (plain fields: bumped on the packet path). */
export class LegCounters {
  received = 0;
  /** Packets taken into the reorder window (played or to be played). */
  accepted = 0;
  late = 0;
  duplicates = 0;
  ssrcChanges = 0;
  sequenceRestarts = 0;
  framesDropped = 0;
  telephoneEvents = 0;
  cnPackets = 0;
  undecodable = 0;
  errors = 0;
  /** Monotonic arrival of the first / last packet, NaN before the first. */
  firstArrivalMs = NaN;
  lastArrivalMs = NaN;
}

/** What the leg recorder knows at the end, besides its counters. */
export interface LegStatsInput {
  readonly counters: LegCounters;
  readonly expected: number;
  readonly resyncs: number;
  /** The digits, or undefined when they are not kept. */
  readonly digits: string | undefined;
  readonly hold: SpanLog;
  readonly pause: SpanLog;
  /** Maps a monotonic instant to ms on the recording timeline. */
  readonly positionMs: (atMs: number) => number;
  readonly sampleRate: number;
  readonly framesWritten: number;
}

/** Assembles the {@link LegStats} of a finished leg. */
export function legStats(input: LegStatsInput): LegStats {
  const c = input.counters;
  return {
    packetsReceived: c.received,
    packetsExpected: input.expected,
    packetsLost: Math.max(0, input.expected - c.accepted - c.late),
    packetsLate: c.late,
    packetsDuplicate: c.duplicates,
    ssrcChanges: c.ssrcChanges,
    sequenceRestarts: c.sequenceRestarts,
    resyncs: input.resyncs,
    framesDropped: c.framesDropped,
    telephoneEvents: c.telephoneEvents,
    ...(input.digits === undefined ? {} : { digits: input.digits }),
    cnPackets: c.cnPackets,
    undecodablePackets: c.undecodable,
    errors: c.errors,
    holdSpans: input.hold.list(),
    pauseSpans: input.pause.list(),
    firstPacketMs: Number.isNaN(c.firstArrivalMs) ? null : input.positionMs(c.firstArrivalMs),
    lastPacketMs: Number.isNaN(c.lastArrivalMs) ? null : input.positionMs(c.lastArrivalMs),
    sampleRate: input.sampleRate,
    samplesWritten: input.framesWritten,
    durationMs: (input.framesWritten * 1000) / input.sampleRate,
  };
}
