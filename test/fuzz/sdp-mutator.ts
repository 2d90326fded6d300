/**
 * SDP fuzzing: line- and token-aware mutations of valid SDP bodies, and the properties every
 * mutated body must keep through `parseSessionDescription` and `anchorSdp` (SPEC §2 anchoring,
 * SPEC §9 hostile input): no exception (only a MEDIA_SDP error result), no slow input, and an
 * anchored body that parses again, points at callrec, keeps the m= line count (RFC 3264 §6) and
 * anchors again unchanged in shape.
 */
import { AppError } from '../../src/errors.js';
import { anchorSdp, parseSessionDescription, SdpOriginState, type AnchorOptions } from '../../src/sdp/index.js';
import { mutate, prng } from './sip-mutator.js';

export { prng } from './sip-mutator.js';

const TOKENS = [
  '',
  ' ',
  '0',
  '-1',
  '65535',
  '65536',
  '99999999999999999999999',
  '1e309',
  'NaN',
  '127',
  '128',
  '255',
  '0.0.0.0',
  '::',
  '::ffff:1.2.3.4',
  '[::1]',
  '300.1.2.3',
  'IN',
  'IP4',
  'IP6',
  'IP7',
  'RTP/AVP',
  'RTP/SAVP',
  'udptl',
  'audio',
  'video',
  'image',
  'PCMU/8000',
  'telephone-event/8000',
  'opus/48000/2',
  'G722/8000/1',
  '/',
  '//',
  ':',
  '::::',
  'sendrecv',
  'inactive',
  '\u00e9',
  '\u0000',
  '\ufeff',
  'x'.repeat(300),
];

const LINES = [
  'c=IN IP4 0.0.0.0',
  'c=IN IP6 ::',
  'c=IN IP4',
  'c=',
  'm=audio 0 RTP/AVP',
  'm=audio 4000 RTP/AVP 0 0 0 0',
  'm=audio 65535 RTP/AVP 127 128 -1',
  'm=audio 4000/2 RTP/AVP 0',
  'm=',
  'a=rtcp:',
  'a=rtcp:0',
  'a=rtcp:99999 IN IP4 1.2.3.4',
  'a=rtcp:9 IN IP6',
  'a=rtpmap:0',
  'a=rtpmap:0 PCMU',
  'a=rtpmap:0 /8000',
  'a=rtpmap:96 L16/0/0',
  'a=fmtp:',
  'a=fmtp:101',
  'a=ptime:-20',
  'a=ptime:0',
  'a=sendonly',
  'a=inactive',
  'a=rtcp-mux',
  'a=group:BUNDLE',
  'a=candidate:',
  'a=ice-ufrag:',
  'o=',
  'o=- x y IN IP4 1.2.3.4',
  'o=- 1 1 IN IP4',
  'v=1',
  's=',
  't=',
  'b=AS:',
  'z=0 0',
  'k=clear:x',
  'x=unknown',
  '',
];

/** One random mutation of an SDP body: a byte-level one (as for SIP) or a line/token one. */
export function mutateSdp(input: string, corpus: readonly string[], random: () => number): string {
  const pick = (n: number): number => Math.floor(random() * n);
  if (random() < 0.25) return mutate(Buffer.from(input, 'latin1'), random).toString('latin1');
  const eol = input.includes('\r\n') ? '\r\n' : '\n';
  const lines = input.split(/\r\n|\n/);
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    const i = pick(lines.length);
    const line = lines[i] ?? '';
    switch (pick(8)) {
      case 0: {
        // replace one token of a line (split on space, colon, slash)
        const parts = line.split(/([ :/])/);
        const t = pick(parts.length);
        if (t % 2 === 0) parts[t] = TOKENS[pick(TOKENS.length)] as string;
        lines[i] = parts.join('');
        break;
      }
      case 1:
        lines.splice(i, 0, LINES[pick(LINES.length)] as string);
        break;
      case 2:
        lines.splice(i, 1);
        break;
      case 3:
        lines.splice(i, 0, line); // duplicate
        break;
      case 4: {
        const j = pick(lines.length);
        [lines[i], lines[j]] = [lines[j] as string, line];
        break;
      }
      case 5: {
        // a line from another body (mixes session and media levels)
        const other = (corpus[pick(corpus.length)] as string).split(/\r\n|\n/);
        lines.splice(i, 0, other[pick(other.length)] as string);
        break;
      }
      case 6:
        lines[i] = line.slice(0, pick(line.length + 1));
        break;
      default:
        lines[i] = line.replace(/\d+/, () => TOKENS[pick(TOKENS.length)] as string);
    }
  }
  const separator = random() < 0.1 ? (['\n', '\r', '\r\n\r\n', ' \r\n'][pick(4)] as string) : eol;
  return lines.join(separator);
}

/** Counts of one fuzz run. */
export interface SdpFuzzOutcome {
  readonly iterations: number;
  /** Inputs parseSessionDescription accepted. */
  readonly parsed: number;
  /** Inputs anchorSdp rewrote (any of the anchor variants). */
  readonly anchored: number;
  readonly rejected: number;
  /** The slowest single input (parse + every anchor variant), ms. */
  readonly slowestMs: number;
}

/** What one input did. */
export interface SdpCheck {
  readonly parsed: boolean;
  readonly anchored: boolean;
}

const ANCHORS: ReadonlyArray<Omit<AnchorOptions, 'origin'>> = [
  { address: '192.0.2.99', rtpPort: 20000, rtcpPort: 20001 },
  { address: '2001:db8::99', rtpPort: 30002, rtcpPort: 30003 },
  {
    address: '192.0.2.99',
    rtpPort: 20002,
    rtcpPort: 20003,
    restrictTo: (encoding) => encoding === 'PCMU' || encoding === 'PCMA' || encoding === 'G722',
  },
];

/** Throws (a property violation) unless `result` is ok or a MEDIA_SDP error result. */
function expectResult(what: string, result: { ok: boolean; error?: unknown }): void {
  if (result.ok) return;
  if (!(result.error instanceof AppError) || result.error.code !== 'MEDIA_SDP') {
    throw new Error(`${what} failed with something other than a MEDIA_SDP error: ${String(result.error)}`);
  }
}

/**
 * Checks the properties on one input; throws an Error naming the violated one. Exceptions from
 * the code under test are rethrown with that cause.
 */
export function checkSdp(input: string): SdpCheck {
  const parsed = call('parseSessionDescription', () => parseSessionDescription(input));
  expectResult('parseSessionDescription', parsed);
  let anchored = false;
  for (const anchor of ANCHORS) {
    const origin = new SdpOriginState();
    const result = call('anchorSdp', () => anchorSdp(input, { ...anchor, origin }));
    expectResult('anchorSdp', result);
    if (!result.ok) continue;
    if (!parsed.ok) throw new Error('anchorSdp accepted what parseSessionDescription rejected');
    anchored = true;
    const again = parseSessionDescription(result.value.sdp);
    if (!again.ok) throw new Error(`anchored SDP does not parse: ${again.error.message}\n${result.value.sdp}`);
    if (again.value.mediaCount !== parsed.value.mediaCount) throw new Error('anchoring changed the m= line count');
    const audio = again.value.audio;
    const remoteAudio = result.value.remote.audio;
    if (remoteAudio !== undefined && remoteAudio.rtpPort !== 0) {
      if (audio === undefined) throw new Error('anchored SDP lost its audio stream');
      if (audio.address !== anchor.address || audio.rtpPort !== anchor.rtpPort || audio.rtcpPort !== anchor.rtcpPort) {
        throw new Error(
          `anchored audio does not point at callrec: ${audio.address} ${audio.rtpPort}/${audio.rtcpPort}`,
        );
      }
      const written = audio.formats.map((f) => f.payloadType).join(' ');
      const reported = result.value.formats.map((f) => f.payloadType).join(' ');
      if (written !== reported) throw new Error(`anchored formats ${written} differ from the reported ${reported}`);
    }
    const twice = anchorSdp(result.value.sdp, { ...anchor, origin });
    if (!twice.ok) throw new Error(`anchored SDP does not anchor again: ${twice.error.message}`);
    if (twice.value.sdp.split('\r\n').length !== result.value.sdp.split('\r\n').length) {
      throw new Error('anchoring an anchored SDP changed its shape');
    }
  }
  return { parsed: parsed.ok, anchored };
}

function call<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new Error(`${what} threw`, { cause: error });
  }
}

/** The input of iteration `iteration` (1-based) of a run with `seed`: replays the generator. */
export function sdpInputAt(corpus: readonly string[], seed: number, iteration: number): string {
  const random = prng(seed);
  let input = '';
  for (let i = 0; i < iteration; i++)
    input = mutateSdp(corpus[Math.floor(random() * corpus.length)] as string, corpus, random);
  return input;
}

/**
 * Feeds mutations of `corpus` to the SDP code for `seconds`. Throws with the seed, iteration and
 * input when a property is violated or one input takes longer than `maxInputMs` (a hang in the
 * making: regular-expression backtracking, a loop). `onIteration` is told the iteration about to
 * run (the long runner's watchdog).
 */
export function fuzzSdp(
  corpus: readonly string[],
  seconds: number,
  seed: number,
  options: { readonly maxInputMs?: number; readonly onIteration?: (iteration: number) => void } = {},
): SdpFuzzOutcome {
  const random = prng(seed);
  const maxInputMs = options.maxInputMs ?? 1000;
  const deadline = Date.now() + seconds * 1000;
  let iterations = 0;
  let parsed = 0;
  let anchored = 0;
  let slowestMs = 0;
  while (Date.now() < deadline) {
    for (let k = 0; k < 100; k++) {
      const input = mutateSdp(corpus[Math.floor(random() * corpus.length)] as string, corpus, random);
      iterations++;
      options.onIteration?.(iterations);
      const started = performance.now();
      let check: SdpCheck;
      try {
        check = checkSdp(input);
      } catch (error) {
        throw new Error(`SDP fuzz (seed ${seed}, iteration ${iterations}) on ${JSON.stringify(input)}`, {
          cause: error,
        });
      }
      const tookMs = performance.now() - started;
      slowestMs = Math.max(slowestMs, tookMs);
      if (tookMs > maxInputMs) {
        throw new Error(
          `SDP fuzz (seed ${seed}, iteration ${iterations}): one input took ${tookMs.toFixed(0)} ms: ${JSON.stringify(input)}`,
        );
      }
      if (check.parsed) parsed++;
      if (check.anchored) anchored++;
    }
  }
  return { iterations, parsed, anchored, rejected: iterations - parsed, slowestMs };
}
