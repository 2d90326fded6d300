import type { ChannelMode, RecordedParty } from '../recorder/index.js';
import type { CallRecord, RecordingRecord } from '../store/index.js';
import type { RecoveredAudio } from './recover-files.js';

/** The end reason of every recording finalised by crash recovery. */
export const RECOVERED_END_REASON = 'recovered';

/** A connected time this much longer than the audio is a gap (as in the normal completeness report). */
const COVERAGE_TOLERANCE_MS = 300;

/** What the recovered metadata is built from. */
export interface RecoveredMetadataInput {
  /** The catalogue row (its `start` is the recording's start, i.e. the answer). */
  readonly recording: RecordingRecord;
  /** The call's row in `calls`, when it was written before the crash. */
  readonly call: CallRecord | undefined;
  readonly audio: RecoveredAudio;
  readonly recoveredAt: Date;
  readonly installationId?: string;
}

/** The times and the gap statement of a recovered recording. */
export interface RecoveredTimes {
  readonly answer: Date;
  /** End of the recovered audio on the call's timeline. */
  readonly audioEnd: Date;
  /** The end written into the metadata: the call's end when it was known, else the audio's end. */
  readonly end: Date;
  /** About when callrec stopped: its last write to the files (never before the audio's end). */
  readonly stoppedAt: Date;
  /** The gap sentence for the completeness report. */
  readonly statement: string;
  /** Whether audio is missing (always, unless the call's end was known and the audio covers it). */
  readonly gap: boolean;
}

/** Works out the end of a recovered recording and states what is missing. */
export function recoveredTimes(input: RecoveredMetadataInput): RecoveredTimes {
  const { recording, audio } = input;
  const answer = new Date(recording.start);
  const audioEnd = new Date(answer.getTime() + Math.round(audio.coveredMs));
  const lastWrite = audio.lastWriteAt ?? answer;
  const stoppedAt = lastWrite > audioEnd ? lastWrite : audioEnd;
  const callEnd = recording.state === 'finalizing' && recording.end !== null ? new Date(recording.end) : undefined;
  const stopped = `callrec stopped at about ${stoppedAt.toISOString()}`;
  if (callEnd !== undefined) {
    const ended = `after the call ended at ${callEnd.toISOString()} (${recording.endReason ?? 'reason unknown'}) and before the recording was sealed`;
    const covered = audio.coveredMs + COVERAGE_TOLERANCE_MS >= callEnd.getTime() - answer.getTime();
    const statement = covered
      ? `${stopped}, ${ended}; the audio covers the call; the packet counters were lost`
      : `${stopped}, ${ended}; audio after ${audioEnd.toISOString()} is missing`;
    return { answer, audioEnd, end: callEnd, stoppedAt, statement, gap: !covered };
  }
  const statement =
    audio.files.length === 0
      ? `${stopped}; no audio reached the disk; the call's real end is unknown`
      : `${stopped}; audio after ${audioEnd.toISOString()} is missing; the call's real end is unknown`;
  return { answer, audioEnd, end: audioEnd, stoppedAt, statement, gap: true };
}

/**
 * The `<id>.json` of a recording finalised by crash recovery: the same document as a normal
 * recording's (parties, Call-IDs, profile, times, files, completeness) with end reason `recovered`,
 * the gap stated as a problem, and a `recovery` section (what was repaired, when callrec stopped).
 * The per-leg packet counters lived in memory and are reported as lost.
 */
export function buildRecoveredMetadata(input: RecoveredMetadataInput, times: RecoveredTimes): Record<string, unknown> {
  const { recording, call, audio } = input;
  const problems = [times.statement, ...audio.problems];
  const parties = partiesOf(audio.channels, audio.files);
  return {
    format: 'callrec-recording/1',
    id: recording.id,
    ...(input.installationId === undefined ? {} : { installationId: input.installationId }),
    direction: recording.direction ?? call?.direction ?? null,
    callIds: { caller: call?.callIdA ?? null, callee: call?.callIdB ?? null },
    caller: { number: call?.caller ?? recording.caller, raw: null, name: null },
    callee: { number: call?.callee ?? recording.callee, raw: null, name: null },
    profile: recording.profile ?? call?.decisionProfile ?? null,
    decision: call?.decisionReason ?? null,
    start: call?.startedAt ?? recording.start,
    answer: times.answer.toISOString(),
    end: times.end.toISOString(),
    endReason: RECOVERED_END_REASON,
    endedBy: 'callrec',
    finalStatus: 200, // a recording starts only once the call is answered
    channels: audio.channels,
    recordingDurationMs: Math.round(audio.coveredMs),
    files: audio.files.map((file) =>
      file.wav === undefined
        ? { name: file.name, parties: file.parties, bytes: file.bytes, unusable: file.unusable ?? 'unknown' }
        : {
            name: file.name,
            parties: file.parties,
            format: file.wav.format === 'pcm16' ? 'PCM 16-bit' : file.wav.format,
            container: file.wav.container,
            sampleRate: file.wav.sampleRate,
            channels: file.wav.channels,
            frames: file.wav.frames,
            durationMs: file.wav.durationMs,
            bytes: file.wav.fileBytes,
          },
    ),
    legs: parties.map((party) => ({
      party,
      counters: null,
      note: 'packet counters were held in memory when callrec stopped and are lost',
      durationMs: audio.partyCoverage[party] ?? null,
    })),
    completeness: { complete: false, problems },
    recovery: {
      recoveredAt: input.recoveredAt.toISOString(),
      stateAtCrash: recording.state,
      callrecStoppedAt: times.stoppedAt.toISOString(),
      audioEnd: times.audioEnd.toISOString(),
      callEnd:
        recording.state === 'finalizing' && recording.end !== null
          ? { at: recording.end, reason: recording.endReason }
          : null,
      gap: times.gap
        ? { from: times.audioEnd.toISOString(), to: times.end > times.audioEnd ? times.end.toISOString() : null }
        : null,
      statement: times.statement,
      repairs: audio.repairs,
    },
  };
}

function partiesOf(channels: ChannelMode, files: RecoveredAudio['files']): RecordedParty[] {
  const named = new Set(files.flatMap((file) => file.parties));
  if (named.size > 0) return (['caller', 'callee'] as const).filter((party) => named.has(party));
  if (channels === 'caller' || channels === 'callee') return [channels];
  return ['caller', 'callee'];
}
