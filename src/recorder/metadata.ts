import type { PayloadFormat } from '../media/codec/index.js';
import type { FinishedRecording, RecordedParty } from './call-recording.js';
import type { WavFileSummary } from './wav-writer.js';

/** One party of the call as SIP named it. */
export interface RecordedPartyInfo {
  /** Normalised (E.164 or extension); `null` when anonymous or not a number. */
  readonly number: string | null;
  /** As signalled (From / Request-URI user). */
  readonly raw: string | null;
  readonly name: string | null;
}

/** The announcement played before the recording (SPEC §2): which file, its hash, when. */
export interface RecordingAnnouncement {
  /** File name without folders. */
  readonly file: string;
  /** SHA-256 (hex) of the file as played. */
  readonly sha256: string;
  /** 'early-media' (183 before the callee was called) or 'answer-first' (200, then played). */
  readonly mode: string;
  /** ISO 8601 instants. */
  readonly startedAt: string;
  readonly endedAt: string;
}

/** The evidence of the caller's consent (SPEC §4), signed with the recording. */
export interface RecordingConsent {
  readonly legalBasis: 'obligation' | 'consent' | 'opt-out';
  /** `not-announced`: the announcement could not be played (file or codec problem). */
  readonly outcome: 'announced' | 'accepted' | 'refused' | 'timeout' | 'opted-out' | 'not-announced';
  /** The configured key that decided the outcome (accept, refuse, opt-out); never any other key. */
  readonly digit: string | null;
  /** When the outcome was decided (ISO 8601); for `announced`, when the announcement ended. */
  readonly decidedAt: string;
  /** consent / opt-out: how long the caller had to press the key after the announcement. */
  readonly timeoutSeconds?: number;
  readonly announcement: RecordingAnnouncement | null;
}

/** What the B2BUA knew about the call (labels from SIP, never from SSRC order). */
export interface RecordingCallInfo {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly callIdCaller: string;
  readonly callIdCallee: string;
  readonly caller: RecordedPartyInfo;
  readonly callee: RecordedPartyInfo;
  readonly profile: string;
  readonly decisionReason: string;
  readonly startedAt: Date;
  readonly answeredAt: Date | undefined;
  readonly endedAt: Date;
  readonly endReason: string;
  readonly endedBy: 'caller' | 'callee' | 'callrec';
  readonly finalStatus: number | undefined;
  /** How the caller was told and agreed (absent for calls recorded without an announcement stage). */
  readonly consent?: RecordingConsent;
}

/** Relay counters of one party's stream. */
export interface RelayLegCounters {
  /** Packets from anyone but the negotiated peer, dropped before the recorder (RTP bleed). */
  readonly foreignDropped: number;
  readonly packetsIn: number;
}

export interface RecordingMetadataInput {
  readonly call: RecordingCallInfo;
  readonly recording: FinishedRecording;
  /** The audio files as they end up in the folder (after a stereo merge: the merged file). */
  readonly files: ReadonlyArray<{
    readonly name: string;
    readonly parties: readonly RecordedParty[];
    readonly wav: WavFileSummary;
  }>;
  readonly relay: Readonly<Partial<Record<RecordedParty, RelayLegCounters>>>;
  /** Negotiated formats per party, in SDP order (the codec column). */
  readonly formats: Readonly<Partial<Record<RecordedParty, readonly PayloadFormat[]>>>;
  /** Problems found by the pipeline itself (e.g. a failed merge). */
  readonly problems?: readonly string[];
  readonly installationId?: string;
}

/** A file may be this much shorter than the connected time and still cover it. */
const COVERAGE_TOLERANCE_MS = 300;

/**
 * The recording's metadata, `<id>.json` (SPEC §2, §4): who, when, why, which files, and the
 * completeness report — packets per leg, loss, late, duplicates, foreign, SSRC changes, hold and
 * pause spans, and whether the files cover the whole connected time. Signed with the audio.
 */
export function buildRecordingMetadata(input: RecordingMetadataInput): Record<string, unknown> {
  const { call, recording } = input;
  const problems = [...(recording.problems ?? []), ...(input.problems ?? [])];
  const legs = recording.legs.map((leg) => {
    const relay = input.relay[leg.party];
    const { stats } = leg;
    if (leg.error !== undefined) problems.push(`${leg.party}: ${leg.error}`);
    // A failed file keeps what reached the disk; a stereo merge would pad the rest with silence
    if (
      leg.error !== undefined &&
      leg.wav !== undefined &&
      leg.wav.durationMs + COVERAGE_TOLERANCE_MS < recording.durationMs
    )
      problems.push(
        `${leg.party}: ${Math.round(leg.wav.durationMs)} ms of ${Math.round(recording.durationMs)} ms written before the failure`,
      );
    if (stats.firstPacketMs === null) problems.push(`${leg.party}: no RTP received`);
    if (stats.packetsLost > 0) problems.push(`${leg.party}: ${stats.packetsLost} packets lost`);
    if (stats.packetsLate > 0) problems.push(`${leg.party}: ${stats.packetsLate} packets late`);
    if (stats.framesDropped > 0) problems.push(`${leg.party}: ${stats.framesDropped} frames dropped on resync`);
    const droppedSpans = leg.wav?.droppedSpans ?? [];
    if (droppedSpans.length > 0) {
      const droppedMs = droppedSpans.reduce((sum, span) => sum + span.endMs - span.startMs, 0);
      problems.push(
        `${leg.party}: ${Math.round(droppedMs)} ms of audio dropped in ${droppedSpans.length} span(s): the disk fell behind (recorder backlog)`,
      );
    } else if (leg.wav !== undefined && leg.wav.droppedBytes > 0)
      problems.push(`${leg.party}: ${leg.wav.droppedBytes} bytes not written (disk)`);
    return {
      party: leg.party,
      codecs: codecsOf(input.formats[leg.party]),
      sampleRate: stats.sampleRate,
      packets: {
        received: stats.packetsReceived,
        expected: stats.packetsExpected,
        lost: stats.packetsLost,
        late: stats.packetsLate,
        duplicate: stats.packetsDuplicate,
        foreign: relay?.foreignDropped ?? 0,
        undecodable: stats.undecodablePackets,
        comfortNoise: stats.cnPackets,
      },
      telephoneEvents: stats.telephoneEvents,
      ...(stats.digits === undefined ? {} : { digits: stats.digits }),
      ssrcChanges: stats.ssrcChanges,
      sequenceRestarts: stats.sequenceRestarts,
      resyncs: stats.resyncs,
      framesDropped: stats.framesDropped,
      firstPacketMs: stats.firstPacketMs,
      lastPacketMs: stats.lastPacketMs,
      holdSpans: stats.holdSpans,
      pauseSpans: stats.pauseSpans,
      ...(droppedSpans.length === 0 ? {} : { droppedSpans }),
      durationMs: stats.durationMs,
      ...(leg.error === undefined ? {} : { error: leg.error }),
    };
  });
  const files = input.files.map((file) => {
    if (file.wav.durationMs + COVERAGE_TOLERANCE_MS < recording.durationMs)
      problems.push(`${file.name}: ${file.wav.durationMs} ms of ${recording.durationMs} ms connected`);
    return {
      name: file.name,
      parties: file.parties,
      format: file.wav.format === 'pcm16' ? 'PCM 16-bit' : file.wav.format,
      container: file.wav.container,
      sampleRate: file.wav.sampleRate,
      channels: file.wav.channels,
      frames: file.wav.frames,
      durationMs: file.wav.durationMs,
      bytes: file.wav.fileBytes,
    };
  });
  if (files.length === 0) problems.push('no audio file');
  // Every party is paused together, so the first leg's spans are the recording's pauses
  const pauses = (recording.legs[0]?.stats.pauseSpans ?? []).map((span) => ({
    from: Math.round(span.startMs),
    to: Math.round(span.endMs),
    by: span.reason,
  }));
  return {
    format: 'callrec-recording/1',
    id: call.id,
    ...(input.installationId === undefined ? {} : { installationId: input.installationId }),
    direction: call.direction,
    callIds: { caller: call.callIdCaller, callee: call.callIdCallee },
    caller: call.caller,
    callee: call.callee,
    profile: call.profile,
    decision: call.decisionReason,
    start: call.startedAt.toISOString(),
    answer: call.answeredAt?.toISOString() ?? null,
    end: call.endedAt.toISOString(),
    endReason: call.endReason,
    endedBy: call.endedBy,
    finalStatus: call.finalStatus ?? null,
    channels: recording.channels,
    recordingDurationMs: Math.round(recording.durationMs),
    ...(call.consent === undefined ? {} : { consent: call.consent }),
    pauses,
    files,
    legs,
    completeness: { complete: problems.length === 0, problems },
  };
}

function codecsOf(formats: readonly PayloadFormat[] | undefined): string[] {
  return (formats ?? []).map((f) => `${f.payloadType} ${f.encoding}/${f.clockRate}`);
}
