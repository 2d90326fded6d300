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
  const problems = [...(input.problems ?? [])];
  const legs = recording.legs.map((leg) => {
    const relay = input.relay[leg.party];
    const { stats } = leg;
    if (leg.error !== undefined) problems.push(`${leg.party}: ${leg.error}`);
    if (stats.firstPacketMs === null) problems.push(`${leg.party}: no RTP received`);
    if (stats.packetsLost > 0) problems.push(`${leg.party}: ${stats.packetsLost} packets lost`);
    if (stats.packetsLate > 0) problems.push(`${leg.party}: ${stats.packetsLate} packets late`);
    if (stats.framesDropped > 0) problems.push(`${leg.party}: ${stats.framesDropped} frames dropped on resync`);
    if (leg.wav !== undefined && leg.wav.droppedBytes > 0)
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
    files,
    legs,
    completeness: { complete: problems.length === 0, problems },
  };
}

function codecsOf(formats: readonly PayloadFormat[] | undefined): string[] {
  return (formats ?? []).map((f) => `${f.payloadType} ${f.encoding}/${f.clockRate}`);
}
