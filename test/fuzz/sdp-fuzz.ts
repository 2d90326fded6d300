/**
 * Long-running SDP fuzzer: `npm run fuzz:sdp -- --seconds 3600 [--seed N] [--hang-seconds 10]
 * [--replay ITERATION]`.
 *
 * Mutated SDP offers and answers go through parseSessionDescription and anchorSdp (see
 * sdp-mutator.ts for the properties). The fuzzing runs in a worker thread; this thread prints
 * progress every minute and is the watchdog: when the worker makes no progress for
 * `--hang-seconds` (a hang), it stops it and prints the seed, the iteration and the input.
 * `--replay I --seed N` prints the input of iteration I of seed N and checks it once.
 * Exit status: 0 clean, 1 a property violated or a hang, 2 usage.
 */
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { sdpCorpus } from './sdp-corpus.js';
import { checkSdp, fuzzSdp, sdpInputAt } from './sdp-mutator.js';

interface Job {
  readonly seconds: number;
  readonly seed: number;
  readonly progress: SharedArrayBuffer;
}

type WorkerMessage =
  { readonly kind: 'done'; readonly text: string } | { readonly kind: 'failed'; readonly text: string };

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? '' : `\n  cause: ${describe(error.cause)}`;
  return `${error.message}${cause}`;
}

function runWorker(job: Job): void {
  const progress = new Int32Array(job.progress);
  try {
    const outcome = fuzzSdp(sdpCorpus(), job.seconds, job.seed, {
      maxInputMs: 2000,
      onIteration: (iteration) => Atomics.store(progress, 0, iteration),
    });
    parentPort?.postMessage({
      kind: 'done',
      text:
        `sdp fuzz: ${outcome.iterations} inputs in ${job.seconds} s (seed ${job.seed}): ${outcome.parsed} parsed, ` +
        `${outcome.anchored} anchored, ${outcome.rejected} rejected, slowest ${outcome.slowestMs.toFixed(1)} ms, 0 failures`,
    } satisfies WorkerMessage);
  } catch (error) {
    parentPort?.postMessage({ kind: 'failed', text: describe(error) } satisfies WorkerMessage);
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seconds: { type: 'string', default: '60' },
        seed: { type: 'string' },
        'hang-seconds': { type: 'string', default: '10' },
        replay: { type: 'string' },
      },
    }));
  } catch (error) {
    console.error(describe(error));
    return 2;
  }
  const seconds = Number(values.seconds);
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
  const hangSeconds = Number(values['hang-seconds']);
  if (!(seconds > 0) || !Number.isInteger(seed) || !(hangSeconds > 0)) {
    console.error('usage: fuzz:sdp -- --seconds N [--seed N] [--hang-seconds N] [--replay ITERATION]');
    return 2;
  }
  if (values.replay !== undefined) {
    const input = sdpInputAt(sdpCorpus(), seed, Number(values.replay));
    console.log(JSON.stringify(input));
    try {
      console.log(JSON.stringify(checkSdp(input)));
      return 0;
    } catch (error) {
      console.error(describe(error));
      return 1;
    }
  }
  console.log(`sdp fuzz: ${seconds} s, seed ${seed} (replay an input with --seed ${seed} --replay <iteration>)`);
  const progress = new SharedArrayBuffer(4);
  const counter = new Int32Array(progress);
  const worker = new Worker(new URL(import.meta.url), { workerData: { seconds, seed, progress } satisfies Job });
  const started = Date.now();
  return new Promise<number>((resolve) => {
    let last = -1;
    let lastChange = Date.now();
    let lastReport = Date.now();
    const watchdog = setInterval(() => {
      const now = Date.now();
      const iteration = Atomics.load(counter, 0);
      if (iteration !== last) {
        last = iteration;
        lastChange = now;
      } else if (now - lastChange > hangSeconds * 1000) {
        clearInterval(watchdog);
        console.error(
          `sdp fuzz: HANG: no progress for ${hangSeconds} s at iteration ${iteration} (seed ${seed}); input: ${JSON.stringify(sdpInputAt(sdpCorpus(), seed, iteration))}`,
        );
        void worker.terminate().then(() => resolve(1));
        return;
      }
      if (now - lastReport >= 60_000) {
        lastReport = now;
        console.log(`  ${Math.round((now - started) / 1000)} s: ${iteration} inputs`);
      }
    }, 1000);
    worker.on('message', (message: WorkerMessage) => {
      clearInterval(watchdog);
      if (message.kind === 'done') console.log(message.text);
      else console.error(`sdp fuzz: FAILED: ${message.text}`);
      resolve(message.kind === 'done' ? 0 : 1);
    });
    worker.on('error', (error) => {
      clearInterval(watchdog);
      console.error(`sdp fuzz: worker crashed: ${describe(error)}`);
      resolve(1);
    });
  });
}

if (isMainThread) process.exitCode = await main();
else runWorker(workerData as Job);
