/**
 * Fuzz (bounded, for CI): mutated SDP offers and answers never make parseSessionDescription or
 * anchorSdp throw (only MEDIA_SDP error results), no input is slow, and every anchored body
 * parses again, points at callrec and keeps its m= line count (sdp-mutator.ts). The seed is fixed
 * and printed (FUZZ_SEED overrides, FUZZ_SDP_SECONDS the 10 s); longer runs:
 * `npm run fuzz:sdp -- --seconds 3600 [--seed N]`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sdpCorpus } from './sdp-corpus.js';
import { checkSdp, fuzzSdp } from './sdp-mutator.js';

const seconds = Number(process.env['FUZZ_SDP_SECONDS'] ?? 10);
const seed = Number(process.env['FUZZ_SEED'] ?? 20_261_123);

it('every corpus body parses and anchors', () => {
  for (const body of sdpCorpus()) assert.equal(checkSdp(body).parsed, true, body);
});

it(`SDP handling survives ${seconds} s of mutated bodies (seed ${seed})`, { timeout: (seconds + 60) * 1000 }, (t) => {
  t.diagnostic(`seed ${seed}`);
  const outcome = fuzzSdp(sdpCorpus(), seconds, seed, { maxInputMs: 5000 });
  t.diagnostic(
    `${outcome.iterations} inputs: ${outcome.parsed} parsed, ${outcome.anchored} anchored, slowest ${outcome.slowestMs.toFixed(1)} ms`,
  );
  assert.ok(outcome.iterations > 1000, `only ${outcome.iterations} iterations`);
  assert.ok(outcome.anchored > 0 && outcome.rejected > 0, 'mutations should yield both anchored and rejected bodies');
});
