import { join } from 'node:path';
import {
  maskDigits,
  type ActiveRecording,
  type CallSummary,
  type LegMedia,
  type MediaCallInfo,
  type RecordingPort,
} from '../b2bua/index.js';
import type { CallrecConfig, ProfileConfig } from '../config/index.js';
import type { Ledger, RecordingSigner, TimestampClient } from '../integrity/index.js';
import type { RelaySessionStats } from '../media/index.js';
import type { Logger } from '../observability/index.js';
import { finaliseRecording, type FinalisedRecording } from '../pipeline/index.js';
import {
  CallRecording,
  type FinishedRecording,
  type RecordedParty,
  type RecordingCallInfo,
  type RecordingConsent,
} from '../recorder/index.js';
import { FinaliseQueue } from './finalise-queue.js';
import type { RecordingStore } from '../store/index.js';
import type { RecorderHealth } from '../policy/index.js';
import type { RecordingPolicy } from './recording-policy.js';
import { isOutOfSpace, type AlarmHandler } from './spool-space.js';

/** How often running recordings advance their timelines when no packets arrive. */
const TICK_MS = 50;
/**
 * Audio waiting in a partly filled write batch, and the WAV header sizes, reach the disk at least
 * this often, so a crash (kill -9, power loss) loses about this much audio at most (SPEC §9; a full
 * 32 KiB batch alone holds 2 s of 8 kHz audio).
 */
const FILE_FLUSH_INTERVAL_MS = 1000;
/** Finalisations (stereo merge, metadata, seal) at once; sealing is serial anyway (the chain). */
const FINALISE_CONCURRENCY = 4;
/** Recordings waiting for finalisation from which on the recorder is behind (alarm, `reject` profiles refuse). */
const FINALISE_BACKLOG = 100;

export interface RecordingServiceOptions {
  /** The current config (reloads apply to recordings that start afterwards). */
  readonly config: () => CallrecConfig;
  /** The current recording policy (normalises the parties' numbers for the metadata). */
  readonly policy: () => RecordingPolicy;
  readonly signer: RecordingSigner;
  readonly ledger: Ledger;
  /** RFC 3161 TSA (`installation.timestampUrl`). */
  readonly timestamp?: TimestampClient;
  readonly logger: Logger;
  /** The clock the relay stamps RTP arrivals with. @default performance.now */
  readonly now?: () => number;
  /** The recording catalogue: a row from the start, so a crash leaves a trace `callrec recover` finds. */
  readonly catalogue?: RecordingStore;
  /** Told about every finalised recording (the archive queue, later). */
  readonly onFinalised?: (recording: FinalisedRecording) => void;
  /** The spool's state (SpoolSpace): recordings started while it has problems are flagged. */
  readonly spool?: SpoolPort;
  /**
   * Raises `spool-reserve` (recording started below the reserve), `recording-failed` (a file
   * failed) and `recorder-backlog` (a file's disk writes fall behind its audio; once per episode).
   */
  readonly onAlarm?: AlarmHandler;
  /** @default 4 */
  readonly finaliseConcurrency?: number;
  /** @default 100 */
  readonly finaliseBacklog?: number;
}

/** What the recorder needs of the spool. */
export interface SpoolPort {
  health(): RecorderHealth;
  /** A write failed for lack of space: give back the space kept for closing and sealing. */
  releaseEmergencySpace(): Promise<boolean>;
}

/**
 * The recorder behind the media anchor: starts a CallRecording when a recorded call is answered
 * (files under `<dataDir>/recordings/<id>/`), ticks running recordings, and when the call ends runs
 * the pipeline (merge, metadata, seal) in the background.
 */
export class RecordingService implements RecordingPort {
  readonly #options: RecordingServiceOptions;
  readonly #running = new Set<CallRecording>();
  readonly #finalising = new Set<Promise<void>>();
  /** The consent evidence of running recordings (announcement stage), for their metadata. */
  readonly #consents = new WeakMap<CallRecording, RecordingConsent>();
  readonly #queue: FinaliseQueue;
  #backlogAlarmed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RecordingServiceOptions) {
    this.#options = options;
    this.#queue = new FinaliseQueue({
      concurrency: options.finaliseConcurrency ?? FINALISE_CONCURRENCY,
      backlogThreshold: options.finaliseBacklog ?? FINALISE_BACKLOG,
    });
  }

  /**
   * Problems that stop the recorder guaranteeing new recordings (for the recording policy:
   * `reject` profiles refuse new calls while there are any): a finalisation backlog.
   */
  problems(): string[] {
    const backlog = this.#queue.backlog();
    return backlog === undefined
      ? []
      : [
          `recorder backlog: ${backlog.waiting} recordings waiting to be sealed (oldest ${Math.round(backlog.oldestWaitMs / 1000)} s)`,
        ];
  }

  /** Recordings being written now. */
  get activeCount(): number {
    return this.#running.size;
  }

  start(call: MediaCallInfo, legs: Readonly<Record<'a' | 'b', LegMedia>>): ActiveRecording | undefined {
    if (!call.decision.record) return undefined;
    const config = this.#options.config();
    const profile = config.profiles.find((p) => p.id === (call.decision.record ? call.decision.profileId : ''));
    const channels = profile?.channels ?? 'both-stereo';
    const logger = this.#options.logger.child({ call: call.id, recordingId: call.id });
    const recording = new CallRecording({
      id: call.id,
      dir: join(config.installation.dataDir, 'recordings', call.id),
      channels,
      formats: { caller: legs.a.formats, callee: legs.b.formats },
      now: this.#options.now ?? (() => performance.now()),
      patchIntervalMs: FILE_FLUSH_INTERVAL_MS,
      onError: (party, error) => this.#fileFailed(call.id, party, error, logger),
      onBacklog: (party, backlog) => {
        // Once per episode and file; the relay is never slowed: past the cap the oldest audio is dropped
        const details = { recording: call.id, party, ...backlog };
        if (this.#options.onAlarm === undefined)
          logger.warn(details, 'recorder backlog: the disk is slower than the audio');
        else this.#options.onAlarm('recorder-backlog', details);
      },
    });
    this.#flagDegraded(recording, profile?.id ?? null);
    this.#running.add(recording);
    const registered = this.#register(call, recording.dir, profile, logger);
    this.#timer ??= setInterval(() => {
      for (const running of this.#running) running.tick();
    }, TICK_MS);
    logger.info({ profile: profile?.id ?? null, channels, files: recording.files }, 'recording started');
    const negotiated = { caller: legs.a.negotiated, callee: legs.b.negotiated };
    const party = (leg: 'a' | 'b'): RecordedParty => (leg === 'a' ? 'caller' : 'callee');
    return {
      push: (leg, datagram, arrivalMs) => recording.push(party(leg), datagram, arrivalMs),
      update: (leg, media) => {
        negotiated[party(leg)] = media.negotiated;
        recording.update(party(leg), media.formats, media.onHold);
      },
      control: (action, by) => {
        const changed = action === 'pause' ? recording.pause(by) : recording.resume();
        if (changed) logger.info({ by }, action === 'pause' ? 'recording paused' : 'recording resumed');
        // Idempotent: true when the recording is now in the state asked for
        return changed || recording.paused === (action === 'pause');
      },
      consent: (evidence) => this.#consents.set(recording, evidence),
      finish: (summary, relay) => {
        this.#running.delete(recording);
        if (this.#running.size === 0 && this.#timer !== undefined) {
          clearInterval(this.#timer);
          this.#timer = undefined;
        }
        // The timeline ends with the call, now; merging and sealing wait for a slot in the queue
        const finished = recording.finish();
        const done = this.#finalise(
          recording,
          finished,
          summary,
          relay,
          profile,
          negotiated,
          logger,
          registered,
        ).finally(() => this.#finalising.delete(done));
        this.#finalising.add(done);
      },
    };
  }

  /** A recording that starts while the spool has problems records on, flagged (`continue`, SPEC §4). */
  #flagDegraded(recording: CallRecording, profile: string | null): void {
    const problems = this.#options.spool?.health().problems ?? [];
    for (const problem of problems) recording.flag(`recording started while ${problem}`);
    if (problems.length > 0) this.#options.onAlarm?.('spool-reserve', { recording: recording.id, profile, problems });
  }

  /** A file of a running recording failed (disk full, I/O error): the call goes on, the alarm goes off. */
  #fileFailed(id: string, party: RecordedParty, error: Error, logger: Logger): void {
    logger.error({ party, err: error.message }, 'recording file failed; the call goes on');
    this.#options.onAlarm?.('recording-failed', { recording: id, party, error: error.message });
    if (isOutOfSpace(error))
      this.#options.spool?.releaseEmergencySpace().catch((cause: unknown) => {
        logger.error({ err: cause instanceof Error ? cause.message : String(cause) }, 'cannot release emergency space');
      });
  }

  /** Resolves when every recording handed to the pipeline so far is finalised (at shutdown). */
  async flush(): Promise<void> {
    while (this.#finalising.size > 0) await Promise.all([...this.#finalising]);
  }

  async #finalise(
    recording: CallRecording,
    finishing: Promise<FinishedRecording>,
    summary: CallSummary,
    relay: RelaySessionStats,
    profile: ProfileConfig | undefined,
    formats: Readonly<Record<RecordedParty, LegMedia['negotiated']>>,
    logger: Logger,
    registered: Promise<boolean>,
  ): Promise<void> {
    const catalogue = (await registered) ? this.#options.catalogue : undefined;
    const end = { at: (summary.endedAt ?? new Date()).toISOString(), reason: summary.endReason };
    try {
      await catalogue?.markFinalizing(recording.id, end.at, end.reason);
    } catch (error) {
      logger.error({ err: errorText(error) }, 'recording catalogue: could not mark the recording finalizing');
    }
    const queued = this.#queue.run(() => this.#seal(recording, finishing, summary, relay, profile, formats, logger));
    this.#checkBacklog(logger);
    try {
      const result = await queued;
      if (result === undefined) return;
      await catalogue
        ?.markSpooled(recording.id, end)
        .catch((error: unknown) =>
          logger.error({ err: errorText(error) }, 'recording catalogue: could not mark the recording spooled'),
        );
      this.#options.onFinalised?.(result);
    } finally {
      this.#checkBacklog(logger);
    }
  }

  /** The alarm once per backlog episode (SPEC §4 "recorder backlog"); it ends when the queue is short again. */
  #checkBacklog(logger: Logger): void {
    const backlog = this.#queue.backlog();
    if (backlog === undefined) {
      if (this.#backlogAlarmed) logger.info('recorder backlog cleared: recordings are sealed as their calls end');
      this.#backlogAlarmed = false;
    } else if (!this.#backlogAlarmed) {
      this.#backlogAlarmed = true;
      const details = { ...backlog };
      if (this.#options.onAlarm === undefined) logger.warn(details, 'recorder backlog: recordings wait to be sealed');
      else this.#options.onAlarm('recorder-backlog', details);
    }
  }

  /** Merge, metadata, seal; `undefined` when that failed (logged). */
  async #seal(
    recording: CallRecording,
    finishing: Promise<FinishedRecording>,
    summary: CallSummary,
    relay: RelaySessionStats,
    profile: ProfileConfig | undefined,
    formats: Readonly<Record<RecordedParty, LegMedia['negotiated']>>,
    logger: Logger,
  ): Promise<FinalisedRecording | undefined> {
    try {
      const finished = await finishing;
      const result = await finaliseRecording({
        recording: finished,
        call: this.#withConsent(this.#callInfo(summary, profile), recording),
        relay: { caller: relay.a, callee: relay.b },
        formats,
        ...(profile?.signing === false
          ? {}
          : {
              signer: this.#options.signer,
              ledger: this.#options.ledger,
              ...(this.#options.timestamp === undefined ? {} : { timestamp: this.#options.timestamp }),
            }),
      });
      if (result.seal.timestamp?.ok === false)
        logger.warn(
          { err: result.seal.timestamp.error.message },
          'time-stamp request failed; recording sealed without it',
        );
      const fields = {
        files: result.audioFiles,
        durationMs: finished.durationMs,
        signed: result.seal.signed,
        complete: result.complete,
      };
      if (result.complete) logger.info(fields, 'recording finished');
      else
        logger.warn(
          { ...fields, problems: result.problems.map((problem) => maskDigits(problem, false)) },
          'recording finished incomplete',
        );
      return result;
    } catch (error) {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'recording could not be finalised');
      return undefined;
    }
  }

  /** Registers the recording in the catalogue; resolves whether it is there (a failure is logged, the call goes on). */
  async #register(
    call: MediaCallInfo,
    dir: string,
    profile: ProfileConfig | undefined,
    logger: Logger,
  ): Promise<boolean> {
    const catalogue = this.#options.catalogue;
    if (catalogue === undefined) return false;
    try {
      await catalogue.register({
        id: call.id,
        dir,
        profile: profile?.id ?? null,
        direction: call.direction,
        caller: null,
        callee: null,
        start: new Date().toISOString(),
        retentionDays: profile?.retentionDays ?? null,
        statutory: profile?.statutoryRetention ?? false,
      });
      return true;
    } catch (error) {
      logger.error({ err: errorText(error) }, 'recording catalogue: could not register the recording');
      return false;
    }
  }

  #withConsent(info: RecordingCallInfo, recording: CallRecording): RecordingCallInfo {
    const consent = this.#consents.get(recording);
    return consent === undefined ? info : { ...info, consent };
  }

  #callInfo(call: CallSummary, profile: ProfileConfig | undefined): RecordingCallInfo {
    const { caller, callee } = this.#options.policy().parties(call.facts);
    return {
      id: call.id,
      direction: call.direction,
      callIdCaller: call.callIdA,
      callIdCallee: call.callIdB,
      caller: { number: caller, raw: call.facts.callingNumbers.at(-1) ?? null, name: call.callerName ?? null },
      callee: { number: callee, raw: call.facts.calledNumbers[0] ?? null, name: call.calleeName ?? null },
      profile: profile?.id ?? (call.decision.record ? call.decision.profileId : ''),
      decisionReason: call.decision.reason,
      startedAt: call.startedAt,
      answeredAt: call.answeredAt,
      endedAt: call.endedAt ?? new Date(),
      endReason: call.endReason,
      endedBy: call.endedBy ?? 'callrec',
      finalStatus: call.finalStatus,
    };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
