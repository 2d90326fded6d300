import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** How a call ended, for `callrec_calls_total{outcome}`. */
export type CallOutcome = 'answered' | 'cancelled' | 'rejected' | 'failed';

/** The two legs of a call as the recorder names them. */
export type CallParty = 'caller' | 'callee';

/** RTP counters of one call at its end, per leg (from the relay and, for recorded calls, the recorder). */
export interface CallRtpCounts {
  readonly party: CallParty;
  /** RTP packets accepted from this leg's peer and relayed to the other leg. */
  readonly relayed: number;
  /** Packets from a source other than this leg's peer, dropped. */
  readonly foreign: number;
  /** Sequence-number gaps seen by the recorder (recorded calls only). */
  readonly lost?: number;
}

/** Uploads of one archive target by state (the shape of `UploadQueue.status()` entries). */
export interface UploadQueueCounts {
  readonly targetId: string;
  readonly pending: number;
  readonly uploading: number;
  readonly failed: number;
  readonly done: number;
}

/** Live values read when `/metrics` is scraped. Each may be absent; a failing one is skipped. */
export interface MetricSources {
  /** Calls in progress. */
  readonly activeCalls?: () => number;
  /** Recordings by state, e.g. `{ recording: 2, spooled: 10, archived: 300 }`. */
  readonly recordingStates?: () => Readonly<Record<string, number>> | Promise<Readonly<Record<string, number>>>;
  /** Upload queue per target. */
  readonly uploadQueue?: () => Promise<readonly UploadQueueCounts[]>;
}

/** Options of {@link CallrecMetrics}. */
export interface CallrecMetricsOptions {
  /** Node's process metrics (RSS, heap, event loop lag, file descriptors). @default true */
  readonly processMetrics?: boolean;
}

const UPLOAD_STATES = ['pending', 'uploading', 'failed', 'done'] as const;
const DIRECTIONS = ['inbound', 'outbound'] as const;
const PARTIES: readonly CallParty[] = ['caller', 'callee'];
/** Every {@link CallOutcome}. */
export const CALL_OUTCOMES: readonly CallOutcome[] = ['answered', 'cancelled', 'rejected', 'failed'];

/**
 * callrec's Prometheus metrics on a registry of their own (never prom-client's global one, so two
 * servers in one process do not collide). The composition root feeds the counters from call,
 * media and recording events; gauges read {@link MetricSources} at scrape time.
 */
export class CallrecMetrics {
  readonly #registry = new Registry();
  #sources: MetricSources = {};
  readonly #callsStarted: Counter<'direction'>;
  readonly #calls: Counter<'direction' | 'outcome'>;
  readonly #recordingsFinished: Counter<'complete' | 'signed'>;
  readonly #recordingsRecovered: Counter;
  readonly #rtpRelayed: Counter<'party'>;
  readonly #rtpForeign: Counter<'party'>;
  readonly #rtpLost: Counter<'party'>;
  readonly #failures: Counter<'kind'>;
  readonly #alarms: Counter<'name'>;
  readonly #sipIn: Counter.Internal;
  readonly #sipOut: Counter.Internal;

  constructor(options: CallrecMetricsOptions = {}) {
    const registers = [this.#registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.#registry });
    this.#callsStarted = new Counter({
      name: 'callrec_calls_started_total',
      help: 'Calls accepted by the B2BUA (a session was created), by direction.',
      labelNames: ['direction'],
      registers,
    });
    this.#calls = new Counter({
      name: 'callrec_calls_total',
      help: 'Ended calls by direction and outcome (answered, cancelled, rejected by the callee side, failed).',
      labelNames: ['direction', 'outcome'],
      registers,
    });
    const sources = (): MetricSources => this.#sources;
    // A source that throws must not break the whole scrape: its gauge keeps the last values.
    const guarded = async (source: string, read: () => Promise<void> | void): Promise<void> => {
      try {
        await read();
      } catch {
        this.failure(`metrics-source-${source}`);
      }
    };
    new Gauge({
      name: 'callrec_calls_active',
      help: 'Calls in progress.',
      registers,
      collect() {
        const read = sources().activeCalls;
        if (read !== undefined) return guarded('active-calls', () => this.set(read()));
      },
    });
    this.#recordingsFinished = new Counter({
      name: 'callrec_recordings_finished_total',
      help: 'Finalised recordings by completeness verdict and whether they were signed.',
      labelNames: ['complete', 'signed'],
      registers,
    });
    new Gauge({
      name: 'callrec_recordings',
      help: 'Recordings by state (being written, in the spool, archived, ...).',
      labelNames: ['state'],
      registers,
      collect() {
        const read = sources().recordingStates;
        if (read === undefined) return;
        return guarded('recording-states', async () => {
          const states = await read();
          this.reset();
          for (const [state, count] of Object.entries(states)) this.set({ state }, count);
        });
      },
    });
    this.#recordingsRecovered = new Counter({
      name: 'callrec_recordings_recovered_total',
      help: 'Recordings a crash left unfinished, repaired and sealed at start (each also counts as finished, incomplete).',
      registers,
    });
    this.#rtpRelayed = new Counter({
      name: 'callrec_rtp_packets_relayed_total',
      help: "RTP packets accepted from a leg's peer and relayed to the other leg, counted at call end.",
      labelNames: ['party'],
      registers,
    });
    this.#rtpForeign = new Counter({
      name: 'callrec_rtp_packets_foreign_total',
      help: "Packets from a source other than the leg's peer, dropped; counted at call end.",
      labelNames: ['party'],
      registers,
    });
    this.#rtpLost = new Counter({
      name: 'callrec_rtp_packets_lost_total',
      help: 'RTP packets lost (sequence gaps) on recorded calls, counted when the recording is finalised.',
      labelNames: ['party'],
      registers,
    });
    new Gauge({
      name: 'callrec_upload_queue',
      help: 'Uploads by archive target and state.',
      labelNames: ['target', 'state'],
      registers,
      collect() {
        const read = sources().uploadQueue;
        if (read === undefined) return;
        return guarded('upload-queue', async () => {
          const targets = await read();
          this.reset();
          for (const target of targets)
            for (const state of UPLOAD_STATES) this.set({ target: target.targetId, state }, target[state]);
        });
      },
    });
    this.#failures = new Counter({
      name: 'callrec_failures_total',
      help: 'Failures by kind (SIP send, request handling, ledger checkpoint, ...).',
      labelNames: ['kind'],
      registers,
    });
    this.#alarms = new Counter({
      name: 'callrec_alarms_total',
      help: 'Alarms raised, by name (spool-reserve, recorder-backlog, recording-failed, ...).',
      labelNames: ['name'],
      registers,
    });
    const sip = new Counter({
      name: 'callrec_sip_messages_total',
      help: 'SIP messages received (in) and sent (out), retransmissions included.',
      labelNames: ['direction'],
      registers,
    });
    // Bound once: the per-message path is then a plain increment.
    this.#sipIn = sip.labels('in');
    this.#sipOut = sip.labels('out');
    this.#sipIn.inc(0);
    this.#sipOut.inc(0);
    // Known label values start at 0, so rates and dashboards work before the first call.
    for (const direction of DIRECTIONS) {
      this.#callsStarted.inc({ direction }, 0);
      for (const outcome of CALL_OUTCOMES) this.#calls.inc({ direction, outcome }, 0);
    }
    for (const party of PARTIES)
      for (const counter of [this.#rtpRelayed, this.#rtpForeign, this.#rtpLost]) counter.inc({ party }, 0);
  }

  /** Where the gauges read their values from; replaces earlier sources. */
  setSources(sources: MetricSources): void {
    this.#sources = sources;
  }

  callStarted(direction: string): void {
    this.#callsStarted.inc({ direction });
  }

  callEnded(call: { readonly direction: string; readonly outcome: CallOutcome }): void {
    this.#calls.inc({ direction: call.direction, outcome: call.outcome });
  }

  /** The relay counters of one call at its end. */
  mediaClosed(legs: readonly CallRtpCounts[]): void {
    for (const leg of legs) {
      this.#rtpRelayed.inc({ party: leg.party }, leg.relayed);
      this.#rtpForeign.inc({ party: leg.party }, leg.foreign);
    }
  }

  /** A finalised recording; `lost` per party from its completeness report. */
  recordingFinished(recording: {
    readonly complete: boolean;
    readonly signed: boolean;
    readonly lost?: Readonly<Partial<Record<CallParty, number>>>;
  }): void {
    this.#recordingsFinished.inc({ complete: String(recording.complete), signed: String(recording.signed) });
    for (const [party, lost] of Object.entries(recording.lost ?? {})) {
      if (lost !== undefined && lost > 0) this.#rtpLost.inc({ party }, lost);
    }
  }

  /** A recording repaired and sealed by crash recovery (counted as finished too). */
  recordingRecovered(recording: Parameters<CallrecMetrics['recordingFinished']>[0]): void {
    this.#recordingsRecovered.inc();
    this.recordingFinished(recording);
  }

  failure(kind: string): void {
    this.#failures.inc({ kind });
  }

  alarm(name: string): void {
    this.#alarms.inc({ name });
  }

  sipReceived(): void {
    this.#sipIn.inc();
  }

  sipSent(): void {
    this.#sipOut.inc();
  }

  /** `Content-Type` of {@link text}: the Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.#registry.metrics();
  }
}
