/**
 * L16 (RFC 3551 §4.5.11). Requirements verified:
 *  - samples are 16-bit signed integers in network byte order (most significant octet first);
 *  - the sample rate is the RTP clock rate given by the SDP;
 *  - a clock rate that is not a positive integer is refused with MEDIA_CODEC.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { L16Decoder } from '../../../../src/media/codec/index.js';
import { AppError } from '../../../../src/errors.js';

describe('L16Decoder', () => {
  it('reads big-endian signed samples: 0x1234, -2, -32768, 32767, 0', () => {
    const payload = Uint8Array.of(0x12, 0x34, 0xff, 0xfe, 0x80, 0x00, 0x7f, 0xff, 0x00, 0x00);
    const out = new Int16Array(5);
    assert.equal(new L16Decoder(8000).decode(payload, out, 0), 5);
    assert.deepEqual([...out], [0x1234, -2, -32768, 32767, 0]);
  });

  it('does not read the octets in host (little-endian) order', () => {
    const out = new Int16Array(1);
    new L16Decoder(8000).decode(Uint8Array.of(0x00, 0x01), out, 0);
    assert.equal(out[0], 1);
  });

  it('writes from the given offset and ignores a stray odd octet', () => {
    const decoder = new L16Decoder(16000);
    const out = new Int16Array(4).fill(7);
    assert.equal(decoder.samplesFor(5), 2);
    assert.equal(decoder.decode(Uint8Array.of(0x00, 0x01, 0xff, 0xff, 0x55), out, 1), 2);
    assert.deepEqual([...out], [7, 1, -1, 7]);
  });

  it('runs at the SDP clock rate: L16/44100 gives 44100 samples per second', () => {
    const decoder = new L16Decoder(44100);
    assert.deepEqual([decoder.encoding, decoder.clockRate, decoder.sampleRate], ['L16', 44100, 44100]);
  });

  it('refuses a clock rate of 0, a negative or a fractional one with MEDIA_CODEC', () => {
    for (const rate of [0, -8000, 8000.5, Number.NaN]) {
      assert.throws(
        () => new L16Decoder(rate),
        (error: unknown) => error instanceof AppError && error.code === 'MEDIA_CODEC',
        `rate ${rate}`,
      );
    }
  });
});
