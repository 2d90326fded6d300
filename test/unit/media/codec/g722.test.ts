/**
 * ITU-T G.722 at 64 kbit/s. Requirements verified:
 *  - bit exactness against an independent implementation: a packet encoded by ffmpeg's G.722
 *    encoder decodes to exactly ffmpeg's output, and our encoder produces the same octets from the
 *    same input (fixture test/fixtures/rtp/rfc3551-4.5.2-g722-ffmpeg.*);
 *  - encode → decode of a 1 kHz tone (lower sub-band) reproduces it with SNR > 20 dB once the
 *    codec delay, found by cross-correlation with a chirp, is accounted for;
 *  - a 5 kHz tone (higher sub-band) survives and the QMF cancels its 3 kHz alias;
 *  - encoded silence decodes to near-silence; reset() returns to the initial state;
 *  - RFC 3551 §4.5.2: RTP clock 8000 Hz, 16 kHz output, two samples per octet.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { G722Decoder, G722Encoder } from '../../../../src/media/codec/index.js';
import { fixturePath } from '../../../support/paths.js';

const RATE = 16000;

function tone(frequency: number, amplitude: number, samples: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / RATE)),
  );
}

/** Linear chirp 200 Hz → 3.6 kHz: unlike a tone, its autocorrelation has a single peak. */
function chirp(samples: number): Int16Array {
  const duration = samples / RATE;
  return Int16Array.from({ length: samples }, (_, i) => {
    const t = i / RATE;
    return Math.round(8000 * Math.sin(2 * Math.PI * (200 * t + ((3400 / duration) * t * t) / 2)));
  });
}

function roundTrip(pcm: Int16Array): Int16Array {
  const encoded = new Uint8Array(pcm.length / 2);
  assert.equal(new G722Encoder().encode(pcm, encoded), encoded.length);
  const decoded = new Int16Array(pcm.length);
  assert.equal(new G722Decoder().decode(encoded, decoded, 0), pcm.length);
  return decoded;
}

/** The lag (in samples) at which `output` best matches `input`, searched over 0…maxLag. */
function delayByCrossCorrelation(input: Int16Array, output: Int16Array, maxLag: number): number {
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = 0; lag <= maxLag; lag++) {
    let sum = 0;
    for (let i = 0; i + lag < output.length; i++) sum += (input[i] as number) * (output[i + lag] as number);
    if (sum > best) [best, bestLag] = [sum, lag];
  }
  return bestLag;
}

/** SNR in dB of `output` delayed by `lag` against `input`, skipping the adaptation start. */
function snrDb(input: Int16Array, output: Int16Array, lag: number, skip: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = skip; i + lag < output.length; i++) {
    const x = input[i] as number;
    signal += x * x;
    noise += (x - (output[i + lag] as number)) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

/** Power of one frequency component (Goertzel). */
function powerAt(samples: Int16Array, frequency: number, from: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / RATE);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < samples.length; i++) [s1, s2] = [(samples[i] as number) + coefficient * s1 - s2, s1];
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

function pcmFromHex(hex: string): Int16Array {
  const bytes = Buffer.from(hex, 'hex');
  return Int16Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16BE(2 * i));
}

const codecDelay = delayByCrossCorrelation(chirp(RATE / 2), roundTrip(chirp(RATE / 2)), 64);

describe('G.722 against an independent implementation (ffmpeg)', () => {
  const info = JSON.parse(readFileSync(fixturePath('rtp', 'rfc3551-4.5.2-g722-ffmpeg.info.json'), 'utf8')) as {
    payloadHex: string;
    g722: { inputPcmHex: string; decodedPcmHex: string };
  };
  const payload = Uint8Array.from(Buffer.from(info.payloadHex, 'hex'));

  it('decodes ffmpeg-encoded G.722 to exactly the samples ffmpeg decodes', () => {
    const out = new Int16Array(320);
    assert.equal(new G722Decoder().decode(payload, out, 0), 320);
    assert.deepEqual([...out], [...pcmFromHex(info.g722.decodedPcmHex)]);
  });

  it('encodes the same input to exactly the octets ffmpeg produced', () => {
    const encoded = new Uint8Array(160);
    new G722Encoder().encode(pcmFromHex(info.g722.inputPcmHex), encoded);
    assert.deepEqual([...encoded], [...payload]);
  });
});

describe('G.722 encode → decode', () => {
  it('finds the codec delay by cross-correlation: under 2 ms (the two 24-tap QMFs)', () => {
    assert.ok(codecDelay > 0 && codecDelay < 32, `delay ${codecDelay}`);
  });

  it('reproduces a 1 kHz tone with SNR above 20 dB after the codec delay', () => {
    const input = tone(1000, 10000, RATE);
    const snr = snrDb(input, roundTrip(input), codecDelay, 800);
    assert.ok(snr > 20, `SNR ${snr.toFixed(1)} dB`);
  });

  it('reproduces a quiet 1 kHz tone (-30 dBFS) with SNR above 20 dB', () => {
    const input = tone(1000, 1000, RATE);
    const snr = snrDb(input, roundTrip(input), codecDelay, 800);
    assert.ok(snr > 20, `SNR ${snr.toFixed(1)} dB`);
  });

  it('carries a 5 kHz tone through the upper sub-band with SNR above 15 dB', () => {
    const input = tone(5000, 10000, RATE);
    const snr = snrDb(input, roundTrip(input), codecDelay, 800);
    assert.ok(snr > 15, `SNR ${snr.toFixed(1)} dB`);
  });

  it('cancels the 3 kHz alias of a 5 kHz tone in the receive QMF', () => {
    const output = roundTrip(tone(5000, 10000, RATE));
    assert.ok(powerAt(output, 5000, 800) > 1000 * powerAt(output, 3000, 800));
  });

  it('decodes encoded silence to within a few LSB of zero', () => {
    const output = roundTrip(new Int16Array(RATE));
    const peak = output.reduce((max, s) => Math.max(max, Math.abs(s)), 0);
    assert.ok(peak <= 16, `peak ${peak}`);
  });

  it('survives a full-scale square wave without wrapping around', () => {
    const input = Int16Array.from({ length: RATE / 4 }, (_, i) => (Math.floor(i / 40) % 2 === 0 ? 32767 : -32768));
    const output = roundTrip(input);
    const snr = snrDb(input, output, codecDelay, 800);
    assert.ok(snr > 10, `SNR ${snr.toFixed(1)} dB`);
  });
});

describe('G722Decoder', () => {
  const encoded = new Uint8Array(800);
  new G722Encoder().encode(chirp(1600), encoded);

  it('declares RTP clock 8000, sample rate 16000 and two samples per octet (RFC 3551 §4.5.2)', () => {
    const decoder = new G722Decoder();
    assert.deepEqual([decoder.encoding, decoder.clockRate, decoder.sampleRate], ['G722', 8000, 16000]);
    assert.equal(decoder.samplesFor(160), 320);
  });

  it('carries its state across packets: 20 ms packets decode like one long payload', () => {
    const whole = new Int16Array(1600);
    new G722Decoder().decode(encoded, whole, 0);
    const decoder = new G722Decoder();
    const pieces = new Int16Array(1600);
    for (let offset = 0; offset < encoded.length; offset += 160) {
      decoder.decode(encoded.subarray(offset, offset + 160), pieces, offset * 2);
    }
    assert.deepEqual(pieces, whole);
  });

  it('reset() forgets the ADPCM and QMF state: decoding again matches a fresh decoder', () => {
    const decoder = new G722Decoder();
    const first = new Int16Array(1600);
    decoder.decode(encoded, first, 0);
    const second = new Int16Array(1600);
    decoder.decode(encoded, second, 0);
    assert.notDeepEqual(second, first);
    decoder.reset();
    const afterReset = new Int16Array(1600);
    decoder.decode(encoded, afterReset, 0);
    assert.deepEqual(afterReset, first);
  });

  it('decodes every octet value, including the unused low-band codes 0–3, within int16', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const out = new Int16Array(512);
    assert.equal(new G722Decoder().decode(all, out, 0), 512);
  });
});

describe('G722Encoder', () => {
  it('writes one octet per two samples from the given offset', () => {
    const out = new Uint8Array(12).fill(0xaa);
    const encoder = new G722Encoder();
    assert.equal(encoder.bytesFor(20), 10);
    assert.equal(encoder.encode(new Int16Array(20), out, 2), 10);
    assert.deepEqual([out[0], out[1]], [0xaa, 0xaa]);
  });

  it('reset() forgets its state: the same input encodes to the same octets again', () => {
    const encoder = new G722Encoder();
    const input = chirp(640);
    const first = new Uint8Array(320);
    encoder.encode(input, first);
    encoder.reset();
    const again = new Uint8Array(320);
    encoder.encode(input, again);
    assert.deepEqual(again, first);
  });
});
