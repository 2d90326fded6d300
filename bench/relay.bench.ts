/**
 * `npm run bench:relay [-- --calls 200 --seconds 15 --mode relay|record|both --rounds 1]`
 *
 * The media path in one process, without SIP or the rest of callrec: `--calls` RelaySessions (real
 * PortAllocator sockets on 127.0.0.1) relaying PCMU 20 ms both ways from the `media.bench.ts` load
 * generator (a child process, bench/tools/rtp-load-worker.ts), with `--mode record` every call also
 * recorded by a CallRecording (both parties, per-party WAVs under a temp dir, ticked every 50 ms as
 * the recording service does). It prints per mode:
 *  - CPU of this process per relayed packet (µs; user + system, so the kernel's UDP work is in it),
 *  - heap and RSS growth per call (after a GC, with the sessions open and the media running),
 *  - one-way latency p50/p99 through the relay minus the generator-only baseline,
 *  - loss.
 * It isolates the relay and recorder costs `bench:media` mixes with SIP, logging and the pipeline,
 * so before/after comparisons of the hot path are less noisy on a shared machine (still: other
 * processes' CPU disturbs it; compare rounds, `--rounds`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { PortAllocator, RelaySession, type PayloadFormat } from '../src/media/index.js';
import { CallRecording } from '../src/recorder/index.js';
import { sleep } from './tools/media-bench-options.js';
import { mergeMediaStats } from './tools/media-engine.js';
import { ms } from './tools/media-report.js';
import { MediaWorkers } from './tools/media-workers.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    mode: { type: 'string', default: 'both' },
    rounds: { type: 'string', default: '1' },
    'media-ports': { type: 'string', default: '20000-23999' },
  },
});
const calls = Number(values.calls);
const seconds = Number(values.seconds);
const rounds = Math.max(1, Number(values.rounds));
type Mode = 'relay' | 'record';
const modes: readonly string[] = values.mode === 'both' ? ['relay', 'record'] : [values.mode ?? ''];
const ports = (values['media-ports'] ?? '').split('-').map(Number) as [number, number];
const isMode = (m: string): m is Mode => m === 'relay' || m === 'record';
if (!(calls > 0) || !(seconds > 0) || !modes.every(isMode) || ports.length !== 2) {
  throw new Error('usage: --calls 200 --seconds 15 --mode relay|record|both --rounds 1 --media-ports 20000-23999');
}

const PCMU: ReadonlyMap<number, PayloadFormat> = new Map([
  [0, { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 }],
]);

interface Figures {
  readonly cpuMicrosPerPacket: number;
  readonly heapKiBPerCall: number;
  readonly rssKiBPerCall: number;
  /** ArrayBuffers (Buffers, typed arrays: outside the JS heap). */
  readonly buffersKiBPerCall: number;
  /** Event-loop delay p99 and max, ms. */
  readonly loopP99: number;
  readonly loopMax: number;
  readonly p50: number;
  readonly p99: number;
  readonly lost: number;
  readonly sent: number;
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function memory(): Promise<{ heapKiB: number; rssKiB: number; buffersKiB: number }> {
  gc();
  await sleep(100);
  gc();
  const usage = process.memoryUsage();
  return {
    heapKiB: getHeapStatistics().used_heap_size / 1024,
    rssKiB: usage.rss / 1024,
    buffersKiB: usage.arrayBuffers / 1024,
  };
}

async function baseline(): Promise<{ p50: number; p99: number }> {
  const workers = await MediaWorkers.start(1);
  try {
    await workers.open(calls);
    await workers.startDirect();
    await sleep(Math.min(5, seconds) * 1000);
    await workers.stop();
    await workers.drain();
    const { latency } = mergeMediaStats(await workers.stats());
    return { p50: latency.percentile(50), p99: latency.percentile(99) };
  } finally {
    await workers.close();
  }
}

async function runMode(mode: Mode, base: { p50: number; p99: number }): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'callrec-relay-bench-'));
  const allocator = new PortAllocator({ host: '127.0.0.1', portRange: ports });
  const workers = await MediaWorkers.start(1);
  const sessions: RelaySession[] = [];
  const recordings: CallRecording[] = [];
  let ticker: NodeJS.Timeout | undefined;
  try {
    const media = await workers.open(calls);
    const before = await memory();
    for (let i = 0; i < calls; i++) {
      const call = media[i];
      if (call === undefined) throw new Error('generator opened too few calls');
      let recording: CallRecording | undefined;
      if (mode === 'record') {
        recording = new CallRecording({
          id: `bench-${i}`,
          dir: join(dir, `bench-${i}`),
          channels: 'both-separate',
          formats: { caller: PCMU, callee: PCMU },
          now: () => performance.now(),
        });
        recordings.push(recording);
      }
      const target = recording;
      const session = await RelaySession.open(allocator, {
        strictSource: true,
        now: () => performance.now(),
        ...(target === undefined
          ? {}
          : {
              onRtp: (leg, datagram, arrivalMs) => target.push(leg === 'a' ? 'caller' : 'callee', datagram, arrivalMs),
            }),
      });
      session.leg('a').setRemote({ address: '127.0.0.1', rtpPort: call.ports.a, rtcpPort: 0, direction: 'sendrecv' });
      session.leg('b').setRemote({ address: '127.0.0.3', rtpPort: call.ports.b, rtcpPort: 0, direction: 'sendrecv' });
      sessions.push(session);
      await workers.start(
        call,
        { address: '127.0.0.1', port: session.leg('a').localRtpPort },
        { address: '127.0.0.1', port: session.leg('b').localRtpPort },
      );
    }
    if (recordings.length > 0) {
      ticker = setInterval(() => {
        for (const recording of recordings) recording.tick();
      }, 50);
    }
    await sleep(2000); // warm-up: reorder windows filled, batch buffers allocated, JIT done
    const relayedBefore = relayed(sessions);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const cpuBefore = cpuMicros();
    await sleep(seconds * 1000);
    const cpu = cpuMicros() - cpuBefore;
    loop.disable();
    const packets = relayed(sessions) - relayedBefore;
    const loaded = await memory();
    await workers.stop();
    await workers.drain();
    const { stats, latency } = mergeMediaStats(await workers.stats());
    const sent = stats.sentAB + stats.sentBA;
    return {
      cpuMicrosPerPacket: cpu / Math.max(1, packets),
      heapKiBPerCall: (loaded.heapKiB - before.heapKiB) / calls,
      rssKiBPerCall: (loaded.rssKiB - before.rssKiB) / calls,
      buffersKiBPerCall: (loaded.buffersKiB - before.buffersKiB) / calls,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      p50: latency.percentile(50) - base.p50,
      p99: latency.percentile(99) - base.p99,
      lost: sent - stats.receivedAB - stats.receivedBA,
      sent,
    };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await workers.close();
    for (const session of sessions) session.close();
    await Promise.all(recordings.map((r) => r.finish()));
    await rm(dir, { recursive: true, force: true });
  }
}

function relayed(sessions: readonly RelaySession[]): number {
  let packets = 0;
  for (const session of sessions) {
    const stats = session.stats();
    packets += stats.a.packetsIn + stats.b.packetsIn;
  }
  return packets;
}

async function main(): Promise<void> {
  if ((globalThis as { gc?: unknown }).gc === undefined) {
    console.log('(run with node --expose-gc for exact heap figures; npm run bench:relay does)');
  }
  console.log(
    `relay micro-bench: ${calls} calls, PCMU 20 ms both ways (${calls * 100} packets/s), ${seconds} s per mode, node ${process.version}`,
  );
  const base = await baseline();
  console.log(`baseline (generator only): one-way p50 ${ms(base.p50)}, p99 ${ms(base.p99)}`);
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes.filter(isMode)) {
      const f = await runMode(mode, base);
      console.log(
        `${mode.padEnd(6)} round ${round}: CPU ${f.cpuMicrosPerPacket.toFixed(2)} µs/packet; heap ${f.heapKiBPerCall.toFixed(1)} KiB/call, buffers ${f.buffersKiBPerCall.toFixed(1)} KiB/call, RSS ${f.rssKiBPerCall.toFixed(1)} KiB/call; event-loop delay p99 ${ms(f.loopP99)}, max ${ms(f.loopMax)}; added one-way p50 ${ms(f.p50)}, p99 ${ms(f.p99)}; lost ${f.lost}/${f.sent}`,
      );
    }
  }
}

await main();
