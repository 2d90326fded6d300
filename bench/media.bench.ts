/**
 * `npm run bench:media [-- --calls 50,200,500,800 --seconds 60 --rate 100 --generators auto
 *   --channels both-stereo --baseline-seconds 10 --media-ports 10000-19999 --refine 0
 *   --relay-only --keep]`
 *
 * Issue "Media anchoring and the recorder": the largest number of concurrent recorded calls (both
 * legs, G.711 PCMU, 20 ms) that run `--seconds` with zero relay loss and complete recordings; CPU,
 * RSS per call, p99 added relay latency. Targets: >= 500 calls at zero loss, RSS <= 256 KiB per
 * call, p99 added latency <= 2 ms at 200 calls.
 *
 * For each N of `--calls`, on loopback only:
 *  1. baseline: the load generator alone, N calls' RTP sent socket to socket (no callrec), for
 *     `--baseline-seconds`: the one-way time of the generator and the kernel;
 *  2. a fresh `callrec run` child process (its own data dir and config, the first step's key
 *     reused; CPU and RSS read from /proc/<pid>), every call recorded (group number, profile
 *     `all`, `--channels`), media ports `--media-ports` (outside the OS's ephemeral range, where
 *     the generator's sockets are);
 *  3. N calls from the trunk (SIP UAC on 127.0.0.1) to the PBX (SIP UAS on 127.0.0.3), set up at
 *     `--rate` calls/s; each call's RTP starts both ways when its 2xx is ACKed, PCMU every 20 ms
 *     from one socket per leg, to the addresses of the SDP callrec sent; the generator runs in
 *     `--generators` child processes (bench/tools/rtp-load-worker.ts; `auto`: one up to
 *     GENERATOR_CALLS calls, two above — one Node process does not keep up with 500 calls' RTP);
 *  4. `--seconds` of media with all N calls up (CPU of callrec, of the generator and of everything
 *     else on the machine, and callrec's RSS, sampled over this window); then the media stops, the
 *     generator waits until nothing more arrives, and the caller BYEs every call (`--rate`/s);
 *  5. callrec finalises the recordings: every `<dataDir>/recordings/<id>/` must hold its WAV(s),
 *     `<id>.json` and `<id>.sha256`; each WAV's duration (from its RIFF/RF64 header) within
 *     ±0.5 s of the call's connected time (2xx to BYE, as the caller saw it; the metadata's
 *     caller Call-ID names the call), the metadata's `packets.lost` 0 for every leg, and its own
 *     verdict `completeness.complete` true.
 * Relay loss = packets sent − packets received, per direction (each payload carries a stream id,
 * so cross-talk between calls is counted separately); kernel receive-buffer drops are read from
 * /proc/net/udp for callrec's and the generator's sockets. Latency: send time (performance.now()
 * in the payload) to the receiving socket's handler, both in the same generator process; "added"
 * = the percentile through callrec minus the same percentile of the baseline. The target figure is
 * over the media window (all N calls up); the set-up burst before it (N calls at `--rate`/s while
 * the first calls' media already flows) is printed apart.
 * RSS per call = (callrec RSS at the end of the media window − RSS idle after start) / calls up;
 * the summary adds the slope between steps.
 * `--refine K` adds up to K steps after the ladder, bisecting between the largest passing N and
 * the smallest failing one. `--relay-only` records nothing (no profile): the relay's own cost.
 * `--keep` keeps the temp dir (configs, recordings) and prints its path.
 * The machine's cores are shared by callrec, the generator and whatever else runs: the figures
 * are only as good as the "other processes" CPU printed with them is low.
 * Exit status 0 whatever the figures; 1 only when the bench itself fails.
 */
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GENERATOR_CALLS,
  generatorsFor,
  parseMediaBenchOptions,
  PBX_IP,
  TRUNK_IP,
} from './tools/media-bench-options.js';
import { addedP99, lossFree, ms, printStep, printTable, recordingsComplete, rssPerCall } from './tools/media-report.js';
import { runStep, type StepResult } from './tools/run-step.js';

const options = parseMediaBenchOptions();

async function main(): Promise<void> {
  const { ladder, seconds, rate, generators, channels, keep, refine, relayOnly } = options;
  const top = await mkdtemp(join(tmpdir(), 'callrec-media-bench-'));
  const cpuInfo = cpus();
  console.log(
    `media bench: trunk UAC ${TRUNK_IP} -> callrec (child process) -> PBX UAS ${PBX_IP}, loopback only; node ${process.version}`,
  );
  console.log(
    `  ${cpuInfo.length} cores (${cpuInfo[0]?.model.trim() ?? '?'}) shared by callrec and the load generator (${generators === 'auto' ? `1 process, 2 above ${GENERATOR_CALLS} calls` : `${generatorsFor(options, 1)} process(es)`}); PCMU 20 ms both ways, ${relayOnly ? 'relay only, nothing recorded' : `every call recorded (${channels})`}; ${seconds} s of media per step, set-up and hang-up at ${rate} calls/s`,
  );
  const results: StepResult[] = [];
  let keystore: string | undefined;
  try {
    const steps = [...ladder];
    let refinements = 0;
    for (let next = steps.shift(); next !== undefined; next = steps.shift()) {
      const n = next;
      const dir = join(top, `n${n}`);
      await mkdir(dir, { recursive: true });
      const result = await runStep(n, dir, keystore, options);
      printStep(result, relayOnly);
      results.push(result);
      // Later steps reuse the first step's key (generating an RSA key per start only costs time)
      if (keystore === undefined) {
        const saved = join(top, 'keystore.p12');
        try {
          await stat(join(dir, 'data', 'keystore.p12'));
          await copyFile(join(dir, 'data', 'keystore.p12'), saved);
          keystore = saved;
        } catch {
          // no keystore written; the next start creates one
        }
      }
      if (!keep) await rm(dir, { recursive: true, force: true });
      // --refine: bisect between the largest passing N and the smallest failing N above it
      if (steps.length === 0 && refinements < refine) {
        const passed = results.filter((r) => lossFree(r) && recordingsComplete(r, relayOnly)).map((r) => r.n);
        const low = Math.max(0, ...passed);
        const high = Math.min(...results.filter((r) => r.n > low).map((r) => r.n));
        const middle = Math.round((low + high) / 2 / 10) * 10;
        if (isFinite(high) && middle > low && middle < high) {
          refinements += 1;
          steps.push(middle);
        }
      }
    }
  } finally {
    if (!keep) await rm(top, { recursive: true, force: true });
    else console.log(`\nkept ${top}`);
  }
  results.sort((a, b) => a.n - b.n);
  printTable(results, relayOnly);
  const slopes = results
    .slice(1)
    .map((r, i) => {
      const prev = results[i] as StepResult;
      return `${prev.n}->${r.n}: ${(((r.rssLoadedKiB - prev.rssLoadedKiB) / (r.n - prev.n)) as number).toFixed(0)} KiB`;
    })
    .join(', ');
  if (slopes !== '') console.log(`\nRSS per added call between steps (each step a fresh callrec): ${slopes}`);
  const passing = results.filter((r) => lossFree(r) && recordingsComplete(r, relayOnly));
  const largest = passing.reduce((m, r) => Math.max(m, r.n), 0);
  console.log(
    `\nlargest N with zero relay loss${relayOnly ? ' (relay only, nothing recorded)' : ' and complete recordings'}: ${largest === 0 ? 'none' : largest} (of ${results.map((r) => r.n).join(', ')}; ${seconds} s of media)`,
  );
  const at200 = results.find((r) => r.n === 200);
  // RSS per call from the largest step whose calls all came up (the least distorted by fixed growth)
  const rssStep = [...results].reverse().find((r) => r.connected === r.n);
  console.log(
    `${relayOnly ? "(relay only: not the issue's figures) " : ''}targets: >= 500 calls at zero loss: ${largest >= 500 ? 'met' : 'NOT met'}; ` +
      `RSS <= 256 KiB per call: ${rssStep === undefined ? 'n/a' : `${rssPerCall(rssStep) <= 256 ? 'met' : 'NOT met'} (${rssPerCall(rssStep).toFixed(0)} KiB at ${rssStep.n})`}; ` +
      `p99 added latency <= 2 ms at 200 calls: ${at200 === undefined ? 'n/a (200 not in --calls)' : `${addedP99(at200) <= 2 ? 'met' : 'NOT met'} (${ms(addedP99(at200))})`}`,
  );
  console.log(
    `(added latency = percentile through callrec, all calls up, − the same percentile of the generator-only baseline; the set-up burst is printed per step; CPU in % of one core over the media window; "others" = other processes on the machine in that window, which disturb every figure; ${cpuInfo.length} cores shared)`,
  );
}

await main();
