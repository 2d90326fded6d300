/**
 * ITU-T G.711 μ-law (PCMU) and A-law (PCMA). Requirements verified:
 *  - decoding follows G.711's tables: μ-law 0xFF/0x7F are ±0, 0x00/0x80 are ∓32124 (8031 × 4);
 *    A-law 0xD5/0x55 are ±8, 0xAA/0x2A are ±32256 (4032 × 8);
 *  - encoding picks the code whose decision interval holds the sample: decode(encode(x)) is
 *    monotonic in x and within half a quantisation step of x (μ-law clips above 32635);
 *  - re-encoding any decoded value returns a code with the same value;
 *  - decoders write one sample per octet at the requested offset.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PcmaDecoder,
  PcmuDecoder,
  alawToLinear,
  linearToAlaw,
  linearToUlaw,
  ulawToLinear,
} from '../../../../src/media/codec/index.js';

/** μ-law: the step doubles per segment; segment e has step 8·2^e in 16-bit units. */
function ulawHalfStep(code: number): number {
  const exponent = ((~code & 0xff) >> 4) & 7;
  return 4 << exponent;
}

/** A-law: segments 0 and 1 have step 16, segment s ≥ 1 has step 2^(s+3). */
function alawHalfStep(code: number): number {
  const segment = ((code ^ 0x55) >> 4) & 7;
  return segment === 0 ? 8 : 1 << (segment + 2);
}

describe('G.711 μ-law (PCMU)', () => {
  it('decodes the G.711 reference octets: 0xFF and 0x7F to 0, 0x00 to -32124, 0x80 to 32124', () => {
    assert.deepEqual(
      [0xff, 0x7f, 0x00, 0x80].map((code) => ulawToLinear(code)),
      [0, 0, -32124, 32124],
    );
  });

  it('decodes the smallest non-zero steps to ±8 and the segment 1 start to ±132', () => {
    assert.deepEqual(
      [0xfe, 0x7e, 0xef, 0x6f].map((code) => ulawToLinear(code)),
      [8, -8, 132, -132],
    );
  });

  it('encodes 0 as 0xFF, -1 as negative zero 0x7F and the extremes as 0x80 and 0x00', () => {
    assert.deepEqual(
      [0, -1, 32767, -32768].map((x) => linearToUlaw(x)),
      [0xff, 0x7f, 0x80, 0x00],
    );
  });

  it('round-trips every int16 monotonically within half a step (clipping above 32635)', () => {
    let previous = -Infinity;
    for (let x = -32768; x <= 32767; x++) {
      const code = linearToUlaw(x);
      const y = ulawToLinear(code);
      assert.ok(y >= previous, `not monotonic at ${x}`);
      previous = y;
      if (Math.abs(x) <= 32635) {
        assert.ok(Math.abs(y - x) <= ulawHalfStep(code), `error ${y - x} at ${x}`);
      } else {
        assert.equal(Math.abs(y), 32124, `clipped value at ${x}`);
      }
    }
  });

  it('re-encodes every decoded value to a code of the same value', () => {
    for (let code = 0; code < 256; code++) {
      assert.equal(ulawToLinear(linearToUlaw(ulawToLinear(code))), ulawToLinear(code), `code ${code}`);
    }
  });

  it('clamps samples beyond int16 and truncates fractions', () => {
    assert.equal(linearToUlaw(100000), linearToUlaw(32767));
    assert.equal(linearToUlaw(-100000), linearToUlaw(-32768));
    assert.equal(linearToUlaw(1000.9), linearToUlaw(1000));
  });
});

describe('G.711 A-law (PCMA)', () => {
  it('decodes the G.711 reference octets: 0xD5 to 8, 0x55 to -8, 0x2A to -32256, 0xAA to 32256', () => {
    assert.deepEqual(
      [0xd5, 0x55, 0x2a, 0xaa].map((code) => alawToLinear(code)),
      [8, -8, -32256, 32256],
    );
  });

  it('decodes the first code of segment 1 to ±264 (the step stays 16 across segments 0 and 1)', () => {
    assert.deepEqual(
      [0xc5, 0x45].map((code) => alawToLinear(code)),
      [264, -264],
    );
  });

  it('encodes 0 as 0xD5, -1 as 0x55 and the extremes as 0xAA and 0x2A', () => {
    assert.deepEqual(
      [0, -1, 32767, -32768].map((x) => linearToAlaw(x)),
      [0xd5, 0x55, 0xaa, 0x2a],
    );
  });

  it('round-trips every int16 monotonically within half a step', () => {
    let previous = -Infinity;
    for (let x = -32768; x <= 32767; x++) {
      const code = linearToAlaw(x);
      const y = alawToLinear(code);
      assert.ok(y >= previous, `not monotonic at ${x}`);
      previous = y;
      assert.ok(Math.abs(y - x) <= alawHalfStep(code), `error ${y - x} at ${x}`);
    }
  });

  it('re-encodes every decoded value to the same code', () => {
    for (let code = 0; code < 256; code++) {
      assert.equal(linearToAlaw(alawToLinear(code)), code, `code ${code}`);
    }
  });
});

describe('G.711 decoders', () => {
  it('PCMU writes one sample per octet from the given offset and returns the count', () => {
    const decoder = new PcmuDecoder();
    const out = new Int16Array(6).fill(99);
    assert.equal(decoder.samplesFor(4), 4);
    assert.equal(decoder.decode(Uint8Array.of(0xff, 0x80, 0x00, 0x7f), out, 1), 4);
    assert.deepEqual([...out], [99, 0, 32124, -32124, 0, 99]);
  });

  it('PCMA writes one sample per octet from the given offset and returns the count', () => {
    const decoder = new PcmaDecoder();
    const out = new Int16Array(4).fill(99);
    assert.equal(decoder.decode(Uint8Array.of(0xd5, 0x2a), out, 2), 2);
    assert.deepEqual([...out], [99, 99, 8, -32256]);
  });

  it('both declare 8000 Hz sample and clock rates and their SDP encoding names', () => {
    const decoders = [new PcmuDecoder(), new PcmaDecoder()];
    assert.deepEqual(
      decoders.map((d) => [d.encoding, d.sampleRate, d.clockRate]),
      [
        ['PCMU', 8000, 8000],
        ['PCMA', 8000, 8000],
      ],
    );
  });

  it('decode of an empty payload writes nothing', () => {
    const out = new Int16Array(2).fill(5);
    assert.equal(new PcmuDecoder().decode(new Uint8Array(0), out, 0), 0);
    assert.deepEqual([...out], [5, 5]);
  });
});
