/**
 * `npm run soak -- --minutes 30 --calls 200 [--min-call-seconds 30 --max-call-seconds 60
 *   --warmup-seconds 60 --rate 20 --media-ports 10000-19999 --channels both-stereo
 *   --max-growth-percent 10 --keep]`
 *
 * Issue "Reliability": `--calls` concurrent recorded calls through the real `bin/callrec run`
 * (throwaway loopback config: `media.bench.ts`'s, log level info) for `--minutes`, each call
 * lasting a random 30–60 s and replaced by a new one as it ends — the same SIP UAC/UAS and paced
 * PCMU generator (both ways, 20 ms) as `bench:media` (bench/tools). Reported:
 *  - callrec's memory: RSS (/proc/<pid>/status, every 5 s) and V8 heap (its `"msg":"memory"`
 *    lines, CALLREC_LOG_MEMORY_SECONDS=10), as the mean over a window right after the warm-up and
 *    one just before the calls are hung up (each min(60 s, a third of the measured time));
 *  - calls connected, set-up and BYE failures, relay loss (packets sent − received);
 *  - every recording of the run: sealed, complete (metadata verdict, no packet lost, WAV length
 *    within ±0.5 s of the connected time) and verified (checksums, signature, and the chain over
 *    all of them — the verifier of `callrec verify`).
 * Exit 1 when RSS grew more than `--max-growth-percent` (heap is reported, not judged: it saws with
 * GC), or any call's recording is missing, incomplete or fails verification; 2 on usage errors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCallrec, stopCallrec } from './tools/callrec-process.js';
import { CALLED_NUMBER, callerNumber, GENERATOR_CALLS, PBX_IP, sleep, TRUNK_IP } from './tools/media-bench-options.js';
import { mergeMediaStats, type MediaAddress } from './tools/media-engine.js';
import { MediaWorkers, type WorkerCall } from './tools/media-workers.js';
import { pcmuSdp, sdpAudioAddress } from './tools/pcmu-sdp.js';
import { awaitRecordings, checkRecordings } from './tools/recording-check.js';
import { SipLoad } from './tools/sip-load.js';
import { growthPercent, HeapLog, memoryWindows, mib, RssSampler } from './tools/soak-memory.js';
import { verifyAllRecordings } from './tools/soak-verify.js';

function options() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      calls: { type: 'string', default: '200' },
      'min-call-seconds': { type: 'string', default: '30' },
      'max-call-seconds': { type: 'string', default: '60' },
      'warmup-seconds': { type: 'string', default: '60' },
      rate: { type: 'string', default: '20' },
      'media-ports': { type: 'string', default: '10000-19999' },
      channels: { type: 'string', default: 'both-stereo' },
      'max-growth-percent': { type: 'string', default: '10' },
      keep: { type: 'boolean', default: false },
    },
  });
  const parsed = {
    runS: Number(values.minutes) * 60,
    calls: Number(values.calls),
    minCallS: Number(values['min-call-seconds']),
    maxCallS: Number(values['max-call-seconds']),
    warmupS: Number(values['warmup-seconds']),
    rate: Number(values.rate),
    mediaPorts: (values['media-ports'] ?? '').split('-').map(Number) as [number, number],
    channels: values.channels ?? 'both-stereo',
    maxGrowth: Number(values['max-growth-percent']),
    keep: values.keep ?? false,
  };
  const valid =
    parsed.runS > 0 &&
    Number.isInteger(parsed.calls) &&
    parsed.calls > 0 &&
    parsed.minCallS > 0 &&
    parsed.maxCallS >= parsed.minCallS &&
    parsed.warmupS >= 0 &&
    parsed.warmupS < parsed.runS &&
    parsed.rate > 0 &&
    parsed.mediaPorts.length === 2 &&
    !parsed.mediaPorts.some(Number.isNaN) &&
    parsed.maxGrowth > 0;
  return valid ? parsed : undefined;
}

async function main(): Promise<number> {
  const o = options();
  if (o === undefined) {
    console.error('usage: npm run soak -- --minutes 30 --calls 200 [--min-call-seconds 30 --max-call-seconds 60 …]');
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'callrec-soak-'));
  const startedAt = performance.now();
  const elapsedS = (): number => (performance.now() - startedAt) / 1000;
  const heap = new HeapLog(startedAt);
  const logCounts = new Map<string, number>();
  const callrec = await startCallrec(
    dir,
    o.calls,
    undefined,
    { mediaPorts: o.mediaPorts, channels: o.channels, relayOnly: false },
    {
      logLevel: 'info',
      env: { CALLREC_LOG_MEMORY_SECONDS: '10' },
      onLog: (entry) => {
        heap.onLog(entry);
        if (typeof entry['level'] === 'number' && entry['level'] >= 40) {
          const key = `${entry['level'] === 40 ? 'WARN' : 'ERROR'} ${String(entry['msg'])}`;
          logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
        }
      },
    },
  );
  console.log(
    `soak: ${o.calls} concurrent recorded calls (${o.channels}) for ${o.runS / 60} min through callrec pid ${callrec.pid}, ` +
      `each ${o.minCallS}–${o.maxCallS} s and replaced as it ends; set-up at most ${o.rate}/s; warm-up ${o.warmupS} s; ${dir}`,
  );
  const rss = new RssSampler(callrec.pid, startedAt);
  const workers = await MediaWorkers.start(o.calls > GENERATOR_CALLS ? 2 : 1);
  const workerCount = o.calls > GENERATOR_CALLS ? 2 : 1;
  const media = new Map<number, WorkerCall>();
  const calleeRemote = new Map<number, MediaAddress>();
  const connected = new Map<string, number>();
  const counts = { started: 0, connected: 0, setupFailures: 0, byeFailures: 0 };
  let sip: SipLoad | undefined;
  let exitCode = 1;
  try {
    sip = await SipLoad.create({
      target: { host: TRUNK_IP, port: callrec.sipPort },
      uasPort: callrec.pbxPort,
      calledNumber: CALLED_NUMBER,
      answer: (benchId, offer) => {
        const call = media.get(benchId);
        const remote = sdpAudioAddress(offer);
        if (call === undefined || remote === undefined) return { status: 488 };
        calleeRemote.set(benchId, remote);
        return { sdp: pcmuSdp(PBX_IP, call.ports.b) };
      },
    });
    const load = sip;
    const endAt = startedAt + o.runS * 1000;
    let nextSetupAt = performance.now();
    let nextId = 0;
    const runCall = async (benchId: number): Promise<void> => {
      const wait = nextSetupAt - performance.now();
      nextSetupAt = Math.max(performance.now(), nextSetupAt) + 1000 / o.rate;
      if (wait > 0) await sleep(wait);
      if (performance.now() >= endAt) return;
      const call = await workers.openOn(benchId % workerCount);
      media.set(benchId, call);
      counts.started += 1;
      try {
        const uac = await load.invite(benchId, callerNumber(benchId), pcmuSdp(TRUNK_IP, call.ports.a));
        counts.connected += 1;
        const toCallee = sdpAudioAddress(uac.answer);
        const toCaller = calleeRemote.get(benchId);
        if (toCallee !== undefined && toCaller !== undefined) await workers.start(call, toCallee, toCaller);
        const holdMs = (o.minCallS + Math.random() * (o.maxCallS - o.minCallS)) * 1000;
        await sleep(Math.max(0, Math.min(holdMs, endAt - performance.now())));
        await workers.stopCall(call);
        await sleep(200); // what is in flight arrives before the BYE
        try {
          const byeAt = await load.bye(uac);
          connected.set(uac.callId, (byeAt - uac.connectedAt) / 1000);
        } catch {
          counts.byeFailures += 1;
        }
      } catch {
        counts.setupFailures += 1;
      } finally {
        media.delete(benchId);
        calleeRemote.delete(benchId);
        await workers.end(call);
      }
    };
    const slots = Array.from({ length: o.calls }, async () => {
      while (performance.now() < endAt) await runCall(nextId++);
    });
    const progress = setInterval(() => {
      const last = rss.samples.at(-1);
      console.log(
        `  ${elapsedS().toFixed(0)} s: ${media.size} calls up, ${counts.connected} connected so far, ${connected.size} ended; RSS ${mib(last?.kiB ?? NaN)}`,
      );
    }, 60_000);
    await Promise.all(slots);
    clearInterval(progress);
    const measuredS = elapsedS();
    rss.stop();
    const windows = memoryWindows(o.warmupS, Math.min(measuredS, o.runS));
    const rssGrowth = growthPercent(rss.samples, windows);
    const heapGrowth = growthPercent(heap.samples, windows);
    const { stats } = mergeMediaStats(await workers.stats());
    const sent = stats.sentAB + stats.sentBA;
    const lost = sent - stats.receivedAB - stats.receivedBA;
    console.log(
      `calls: ${counts.connected} connected of ${counts.started} (set-up failures ${counts.setupFailures}, BYE failures ${counts.byeFailures}); relay loss ${lost} of ${sent} packets`,
    );
    const fmtWindow = (w: readonly [number, number]) => `${w[0].toFixed(0)}–${w[1].toFixed(0)} s`;
    console.log(
      `memory of callrec (mean over ${fmtWindow(windows.start)} and ${fmtWindow(windows.end)}): ` +
        `RSS ${mib(rssGrowth.startKiB)} -> ${mib(rssGrowth.endKiB)} (${rssGrowth.percent >= 0 ? '+' : ''}${rssGrowth.percent.toFixed(1)} %), ` +
        `heap used ${mib(heapGrowth.startKiB)} -> ${mib(heapGrowth.endKiB)} (${heapGrowth.percent >= 0 ? '+' : ''}${heapGrowth.percent.toFixed(1)} %)`,
    );
    const waited = await awaitRecordings(callrec.dataDir, connected.size, 120 + connected.size * 0.05);
    const check = await checkRecordings(callrec.dataDir, connected, waited);
    await stopCallrec(callrec);
    const verified = await verifyAllRecordings(dir, callrec.configPath, callrec.dataDir);
    console.log(
      `recordings: ${check.folders} sealed for ${connected.size} ended calls; complete ${check.complete} (metadata incomplete ${check.metadataIncomplete}, packets lost ${check.packetsLost}, WAV length off by up to ${check.wavDeviationMaxS.toFixed(2)} s); ` +
        `verified ${verified.ok} of ${verified.recordings}, failed ${verified.failed}, chain failures ${verified.chainFailures}`,
    );
    for (const problem of [...check.problems, ...verified.problems]) console.log(`  ${problem}`);
    if (logCounts.size > 0) {
      console.log(`callrec warnings/errors: ${[...logCounts].map(([k, n]) => `${k} ×${n}`).join('; ')}`);
    }
    const failures = [
      ...(rssGrowth.percent > o.maxGrowth || Number.isNaN(rssGrowth.percent)
        ? [`RSS grew ${rssGrowth.percent.toFixed(1)} % (limit ${o.maxGrowth} %)`]
        : []),
      ...(check.folders < connected.size ? [`${connected.size - check.folders} recordings missing`] : []),
      ...(check.complete < check.folders ? [`${check.folders - check.complete} recordings incomplete`] : []),
      ...(verified.failed + verified.chainFailures > 0
        ? [`${verified.failed + verified.chainFailures} verification failures`]
        : []),
      ...(connected.size === 0 ? ['no call completed'] : []),
    ];
    console.log(failures.length === 0 ? 'soak: PASS' : `soak: FAIL: ${failures.join('; ')}`);
    exitCode = failures.length === 0 ? 0 : 1;
  } finally {
    rss.stop();
    sip?.close();
    await workers.close();
    await stopCallrec(callrec);
    if (o.keep) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
  return exitCode;
}

process.exitCode = await main();
