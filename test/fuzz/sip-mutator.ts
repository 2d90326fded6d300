import { parseMessage, serializeMessage } from '../../src/sip/message/index.js';

/** Small deterministic PRNG (mulberry32) so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING = [
  '\r\n',
  '\n',
  ' ',
  '\t',
  ':',
  ';',
  ',',
  '<',
  '>',
  '"',
  '\\',
  '@',
  '[',
  ']',
  '%',
  '%00',
  '%zz',
  '=',
  '?',
  '&',
  '\r\n ',
  'SIP/2.0',
  'sip:',
  'tel:',
  'z9hG4bK',
  '4294967296',
  '-1',
  '99999999999',
  '\u0000',
  '\u00ff',
  '\uffff',
  'Content-Length: 99999',
  'l: 0',
  'Via: SIP/2.0/UDP [::1',
  'To: "',
  ';tag=',
  ';branch=',
  ';rport',
  ';received=',
];

/** One random mutation of `input`: byte flips, splices, duplications, truncations, insertions. */
export function mutate(input: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  let data = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const pos = pick(data.length + 1);
    switch (pick(7)) {
      case 0:
        if (data.length > 0) data[Math.min(pos, data.length - 1)] = pick(256);
        break;
      case 1:
        data = Buffer.concat([
          data.subarray(0, pos),
          Buffer.from(INTERESTING[pick(INTERESTING.length)] as string, 'latin1'),
          data.subarray(pos),
        ]);
        break;
      case 2:
        data = Buffer.concat([data.subarray(0, pos), data.subarray(pos + 1 + pick(20))]);
        break;
      case 3: {
        const len = pick(64);
        data = Buffer.concat([data.subarray(0, pos), data.subarray(pos, pos + len), data.subarray(pos)]);
        break;
      }
      case 4:
        data = data.subarray(0, pos);
        break;
      case 5: {
        const lines = data.toString('latin1').split('\r\n');
        const i = pick(lines.length);
        const j = pick(lines.length);
        [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        data = Buffer.from(lines.join('\r\n'), 'latin1');
        break;
      }
      default:
        data = Buffer.concat([data.subarray(0, pos), Buffer.alloc(1 + pick(8), pick(256)), data.subarray(pos)]);
    }
  }
  return data;
}

export interface FuzzOutcome {
  readonly iterations: number;
  readonly accepted: number;
  readonly rejected: number;
}

/**
 * Feeds mutations of `corpus` to the parser for `seconds`. Throws (with the seed and input) if the
 * parser throws, or if an accepted message does not survive serialize -> parse.
 */
export function fuzzParser(corpus: readonly Buffer[], seconds: number, seed: number): FuzzOutcome {
  const random = prng(seed);
  const deadline = Date.now() + seconds * 1000;
  let iterations = 0;
  let accepted = 0;
  while (Date.now() < deadline) {
    for (let k = 0; k < 200; k++) {
      const input = mutate(corpus[Math.floor(random() * corpus.length)] as Buffer, random);
      iterations++;
      let result;
      try {
        result = parseMessage(input);
      } catch (error) {
        throw new Error(
          `parser threw (seed ${seed}, iteration ${iterations}) on ${JSON.stringify(input.toString('latin1'))}`,
          { cause: error },
        );
      }
      if (!result.ok) continue;
      accepted++;
      const again = parseMessage(serializeMessage(result.message));
      if (!again.ok) {
        throw new Error(
          `accepted message did not re-parse (seed ${seed}): ${again.error.message} ${JSON.stringify(input.toString('latin1'))}`,
        );
      }
    }
  }
  return { iterations, accepted, rejected: iterations - accepted };
}
