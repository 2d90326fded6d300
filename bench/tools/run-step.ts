/** One step of the `bench/media.bench.ts` ladder: generator-only baseline, then N calls through callrec. */
import { health, startCallrec, stopCallrec } from './callrec-process.js';
import { CpuWindow, rssKiB, udpDrops } from './cpu-window.js';
import { Histogram } from './histogram.js';
import {
  CALLED_NUMBER,
  callerNumber,
  generatorsFor,
  PBX_IP,
  sleep,
  TRUNK_IP,
  type MediaBenchOptions,
} from './media-bench-options.js';
import { mergeMediaStats, type MediaAddress } from './media-engine.js';
import { ms } from './media-report.js';
import { MediaWorkers, type WorkerCall } from './media-workers.js';
import { pcmuSdp, sdpAudioAddress } from './pcmu-sdp.js';
import { awaitRecordings, checkRecordings, NO_RECORDINGS, type RecordingCheck } from './recording-check.js';
import { SipLoad, type UacCall } from './sip-load.js';

export interface LatencyFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly count: number;
}

function latencyOf(h: Histogram): LatencyFigures {
  return { p50: h.percentile(50), p99: h.percentile(99), max: h.max, count: h.count };
}

export interface BaselineResult {
  readonly latency: LatencyFigures;
  readonly lateness: LatencyFigures;
  readonly lost: number;
  readonly sent: number;
  readonly generatorCpu: number;
  readonly othersCpu: number;
}

async function runBaseline(n: number, options: MediaBenchOptions): Promise<BaselineResult> {
  const workers = await MediaWorkers.start(generatorsFor(options, n));
  try {
    await workers.open(n);
    const cpu = new CpuWindow(workers.pids);
    await cpu.begin();
    await workers.startDirect();
    await sleep(options.baselineSeconds * 1000);
    const used = await cpu.end();
    await workers.stop();
    await workers.drain();
    const { stats, latency, lateness } = mergeMediaStats(await workers.stats());
    const sent = stats.sentAB + stats.sentBA;
    return {
      latency: latencyOf(latency),
      lateness: latencyOf(lateness),
      sent,
      lost: sent - stats.receivedAB - stats.receivedBA,
      generatorCpu: used.processes.reduce((a, b) => a + b, 0),
      othersCpu: used.others,
    };
  } finally {
    await workers.close();
  }
}

export interface StepResult {
  readonly n: number;
  readonly baseline: BaselineResult;
  readonly connected: number;
  readonly setupFailures: Readonly<Record<string, number>>;
  readonly anchored: number;
  readonly setupSeconds: number;
  readonly sentAB: number;
  readonly receivedAB: number;
  readonly sentBA: number;
  readonly receivedBA: number;
  readonly callsWithLoss: number;
  readonly misrouted: number;
  readonly reordered: number;
  /** One-way latency over the media window, all calls up (the steady state). */
  readonly latency: LatencyFigures;
  /** One-way latency while the calls were being set up (each call's media starts when it connects). */
  readonly setupLatency: LatencyFigures;
  readonly lateness: LatencyFigures;
  readonly callrecCpu: number;
  /** callrec's CPU over 2 s idle after start (timers), % of one core. */
  readonly callrecIdleCpu: number;
  readonly generatorCpu: number;
  /** This process: SIP UAC/UAS and sampling. */
  readonly sipCpu: number;
  readonly othersCpu: number;
  readonly machineBusy: number;
  readonly udpDrops: { readonly generator: number; readonly callrec: number };
  readonly rssIdleKiB: number;
  readonly rssLoadedKiB: number;
  readonly rssPeakKiB: number;
  readonly byeFailures: number;
  readonly uasByes: number;
  readonly recordings: RecordingCheck;
  readonly finaliseSeconds: number;
  readonly callsLeft: number | undefined;
  readonly callrecExit: number | null;
  readonly callrecProblems: readonly string[];
  readonly sipRetransmissions: number;
}

/** One step of the ladder: the baseline, then `n` calls through a fresh callrec. */
export async function runStep(
  n: number,
  dir: string,
  keystore: string | undefined,
  options: MediaBenchOptions,
): Promise<StepResult> {
  const { seconds, rate, relayOnly, baselineSeconds } = options;
  const generators = generatorsFor(options, n);
  console.log(`\n-- ${n} calls (generator: ${generators} process${generators === 1 ? '' : 'es'}) --`);
  const baseline = await runBaseline(n, options);
  console.log(
    `  baseline (generator only, ${baselineSeconds} s): one-way p50 ${ms(baseline.latency.p50)}, p99 ${ms(baseline.latency.p99)}, max ${ms(baseline.latency.max)}; lost ${baseline.lost}/${baseline.sent}; lateness p99 ${ms(baseline.lateness.p99)}; CPU generator ${baseline.generatorCpu.toFixed(0)} %, other processes ${baseline.othersCpu.toFixed(0)} %`,
  );
  const callrec = await startCallrec(dir, n, keystore, options);
  const workers = await MediaWorkers.start(generators);
  let sip: SipLoad | undefined;
  try {
    const idle = new CpuWindow([callrec.pid]);
    await idle.begin();
    await sleep(2000);
    const callrecIdleCpu = (await idle.end()).processes[0] ?? NaN;
    const rssIdleKiB = await rssKiB(callrec.pid);
    const mediaCalls: WorkerCall[] = await workers.open(n);
    const calleeRemote = new Map<number, MediaAddress>();
    sip = await SipLoad.create({
      target: { host: TRUNK_IP, port: callrec.sipPort },
      uasPort: callrec.pbxPort,
      calledNumber: CALLED_NUMBER,
      answer: (benchId, offer) => {
        const call = mediaCalls[benchId];
        const remote = sdpAudioAddress(offer);
        if (call === undefined || remote === undefined) return { status: 488 };
        calleeRemote.set(benchId, remote);
        return { sdp: pcmuSdp(PBX_IP, call.ports.b) };
      },
    });
    const load = sip;
    let anchored = 0;
    const setupCall = async (i: number): Promise<UacCall> => {
      const media = mediaCalls[i] as WorkerCall;
      const call = await load.invite(i, callerNumber(i), pcmuSdp(TRUNK_IP, media.ports.a));
      const toCallee = sdpAudioAddress(call.answer);
      const toCaller = calleeRemote.get(i);
      if (toCallee === undefined || toCaller === undefined) throw new Error(`call ${i}: no media address in SDP`);
      const direct = toCallee.port === media.ports.b || toCaller.port === media.ports.a;
      if (!direct) anchored += 1;
      await workers.start(media, toCallee, toCaller);
      return call;
    };
    // Set-up at `rate` calls/s; each call's media starts as soon as it is connected
    const started = performance.now();
    const setups: Array<Promise<UacCall>> = [];
    for (let i = 0; i < n; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      setups.push(setupCall(i));
    }
    const settled = await Promise.allSettled(setups);
    const calls = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const setupSeconds = (performance.now() - started) / 1000;
    const setupStats = sip.stats();
    console.log(
      `  set-up: ${calls.length}/${n} connected in ${setupSeconds.toFixed(1)} s (${anchored} with SDP anchored by callrec)` +
        (setupStats.failed > 0 ? `, failures ${JSON.stringify(setupStats.failures)}` : ''),
    );
    if (anchored < calls.length) {
      console.log(
        `  NOTE: ${calls.length - anchored} calls' SDP reached the far end unchanged: their media went direct, not through callrec`,
      );
    }

    // The media window: all calls up. Latency until now (the calls' set-up burst: SIP, port binds,
    // recording starts) is reported apart from the steady state that follows.
    const setupLatency = new Histogram();
    for (const data of await workers.resetLatency()) setupLatency.merge(data);
    const cpu = new CpuWindow([callrec.pid, ...workers.pids]);
    await cpu.begin();
    let rssPeakKiB = 0;
    let rssLoadedKiB = NaN;
    const windowEnd = performance.now() + seconds * 1000;
    while (performance.now() < windowEnd) {
      await sleep(Math.min(1000, windowEnd - performance.now()));
      rssLoadedKiB = await rssKiB(callrec.pid);
      if (rssLoadedKiB > rssPeakKiB) rssPeakKiB = rssLoadedKiB;
      if (callrec.exited) break;
    }
    const used = await cpu.end();
    await workers.stop();
    await workers.drain();
    const { stats, latency, lateness } = mergeMediaStats(await workers.stats());
    const drops = await udpDrops(mediaCalls, options.mediaPorts);
    console.log(
      `  media: ${seconds} s with ${calls.length} calls; callrec CPU ${(used.processes[0] ?? NaN).toFixed(0)} %, RSS ${(rssLoadedKiB / 1024).toFixed(0)} MiB`,
    );

    // Hang up: the caller BYEs every call at `rate`/s
    const connectedSeconds = new Map<string, number>();
    const byes: Array<Promise<void>> = [];
    const hangupStart = performance.now();
    let byeFailures = 0;
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i] as UacCall;
      const wait = hangupStart + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      byes.push(
        load.bye(call).then(
          (sentAt) => void connectedSeconds.set(call.callId, (sentAt - call.connectedAt) / 1000),
          () => {
            byeFailures += 1;
          },
        ),
      );
    }
    await Promise.all(byes);
    const finaliseSeconds = relayOnly ? 0 : await awaitRecordings(callrec.dataDir, calls.length, 60 + n * 0.2);
    const recordings = relayOnly
      ? NO_RECORDINGS
      : await checkRecordings(callrec.dataDir, connectedSeconds, finaliseSeconds);
    const left = await health(callrec);
    const sipStats = sip.stats();
    sip.close();
    sip = undefined;
    const callrecExit = await stopCallrec(callrec);
    return {
      n,
      baseline,
      connected: calls.length,
      setupFailures: setupStats.failures,
      anchored,
      setupSeconds,
      sentAB: stats.sentAB,
      receivedAB: stats.receivedAB,
      sentBA: stats.sentBA,
      receivedBA: stats.receivedBA,
      callsWithLoss: stats.callsWithLoss,
      misrouted: stats.misrouted,
      reordered: stats.reordered,
      latency: latencyOf(latency),
      setupLatency: latencyOf(setupLatency),
      lateness: latencyOf(lateness),
      callrecCpu: used.processes[0] ?? NaN,
      callrecIdleCpu,
      generatorCpu: used.processes.slice(1).reduce((a, b) => a + b, 0),
      sipCpu: used.self,
      othersCpu: used.others,
      machineBusy: used.machine,
      udpDrops: drops,
      rssIdleKiB,
      rssLoadedKiB,
      rssPeakKiB,
      byeFailures,
      uasByes: sipStats.uasByes,
      recordings,
      finaliseSeconds,
      callsLeft: left?.calls,
      callrecExit,
      callrecProblems: callrec.problems,
      sipRetransmissions: sipStats.retransmissions,
    };
  } finally {
    sip?.close();
    await workers.close();
    await stopCallrec(callrec);
  }
}
