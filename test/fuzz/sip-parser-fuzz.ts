/** Long-running parser fuzzer: `node dist/test/fuzz/sip-parser-fuzz.js --seconds 3600 [--seed N]`. */
import { parseArgs } from 'node:util';
import { sipCorpus } from './sip-corpus.js';
import { fuzzParser } from './sip-mutator.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' } } });
const seconds = Number(values.seconds);
const seed = values.seed === undefined ? Date.now() % 1_000_000 : Number(values.seed);
if (!(seconds > 0) || !Number.isInteger(seed)) {
  console.error('usage: fuzz:sip -- --seconds N [--seed N]');
  process.exit(2);
}
console.log(`sip parser fuzz: ${seconds} s, seed ${seed}`);
const outcome = fuzzParser(sipCorpus(), seconds, seed);
console.log(
  `sip parser fuzz: ${outcome.iterations} inputs in ${seconds} s (seed ${seed}): ${outcome.accepted} accepted, ${outcome.rejected} rejected, 0 crashes`,
);
