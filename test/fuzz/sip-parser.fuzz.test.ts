/**
 * Fuzz (bounded, for CI): mutations of valid SIP messages never make the parser throw, and every
 * message it accepts serialises to something it accepts again. Longer runs:
 * `npm run fuzz:sip -- --seconds 3600 [--seed N]`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sipCorpus } from './sip-corpus.js';
import { fuzzParser } from './sip-mutator.js';

const seconds = Number(process.env['FUZZ_SECONDS'] ?? 30);
const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);

it(`parser survives ${seconds} s of mutated messages (seed ${seed})`, { timeout: (seconds + 60) * 1000 }, () => {
  const outcome = fuzzParser(sipCorpus(), seconds, seed);
  assert.ok(outcome.iterations > 1000, `only ${outcome.iterations} iterations`);
  assert.ok(outcome.rejected > 0 && outcome.accepted > 0, 'mutations should yield both accepted and rejected inputs');
});
