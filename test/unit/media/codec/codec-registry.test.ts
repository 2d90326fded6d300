/**
 * The codec registry. Requirements verified:
 *  - RFC 3551 §6 Table 4 static payload types 0 PCMU/8000, 8 PCMA/8000, 9 G722/8000,
 *    10 L16/44100/2, 11 L16/44100/1, 13 CN/8000;
 *  - decoders exist for PCMU, PCMA, G722 and mono L16, found case-insensitively;
 *  - G.711 and G.722 only at an RTP clock of 8000 (RFC 3551 §4.5.2, §4.5.14); L16 at any rate,
 *    mono only; unknown encodings, CN and telephone-event yield no decoder.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  G722Decoder,
  L16Decoder,
  PcmaDecoder,
  PcmuDecoder,
  STATIC_PAYLOAD_FORMATS,
  createDecoder,
  isComfortNoise,
  isRecordableEncoding,
  isTelephoneEvent,
  type PayloadFormat,
} from '../../../../src/media/codec/index.js';

const format = (encoding: string, clockRate = 8000, channels = 1): PayloadFormat => ({
  payloadType: 96,
  encoding,
  clockRate,
  channels,
});

describe('STATIC_PAYLOAD_FORMATS', () => {
  it('lists the RFC 3551 static audio payload types callrec understands', () => {
    assert.deepEqual(
      [...STATIC_PAYLOAD_FORMATS.entries()].map(([pt, f]) => [pt, f.payloadType, f.encoding, f.clockRate, f.channels]),
      [
        [0, 0, 'PCMU', 8000, 1],
        [8, 8, 'PCMA', 8000, 1],
        [9, 9, 'G722', 8000, 1],
        [10, 10, 'L16', 44100, 2],
        [11, 11, 'L16', 44100, 1],
        [13, 13, 'CN', 8000, 1],
      ],
    );
  });

  it('has no entry for dynamic or unlisted payload types', () => {
    assert.equal(STATIC_PAYLOAD_FORMATS.get(96), undefined);
    assert.equal(STATIC_PAYLOAD_FORMATS.get(18), undefined);
  });

  it('cannot be changed through its entries', () => {
    const pcmu = STATIC_PAYLOAD_FORMATS.get(0);
    assert.ok(pcmu !== undefined && Object.isFrozen(pcmu));
  });
});

describe('createDecoder', () => {
  it('creates decoders for every recordable static payload type', () => {
    const decoders = [0, 8, 9, 11].map((pt) => createDecoder(STATIC_PAYLOAD_FORMATS.get(pt)!));
    assert.ok(decoders[0] instanceof PcmuDecoder);
    assert.ok(decoders[1] instanceof PcmaDecoder);
    assert.ok(decoders[2] instanceof G722Decoder);
    assert.ok(decoders[3] instanceof L16Decoder);
    assert.equal(decoders[3].sampleRate, 44100);
  });

  it('matches encoding names case-insensitively', () => {
    assert.ok(createDecoder(format('pcmu')) instanceof PcmuDecoder);
    assert.ok(createDecoder(format('Pcma')) instanceof PcmaDecoder);
    assert.ok(createDecoder(format('g722')) instanceof G722Decoder);
    assert.ok(createDecoder(format('l16', 16000)) instanceof L16Decoder);
  });

  it('returns a new decoder each time, since decoders carry per-stream state', () => {
    assert.notEqual(createDecoder(format('G722')), createDecoder(format('G722')));
  });

  it('refuses L16 with more than one channel (static PT 10 included)', () => {
    assert.equal(createDecoder(STATIC_PAYLOAD_FORMATS.get(10)!), undefined);
    assert.equal(createDecoder(format('L16', 8000, 2)), undefined);
  });

  it('refuses L16 at a clock rate that is not a positive integer', () => {
    assert.equal(createDecoder(format('L16', 0)), undefined);
  });

  it('refuses G.711 and G.722 at clock rates other than 8000', () => {
    assert.equal(createDecoder(format('PCMU', 16000)), undefined);
    assert.equal(createDecoder(format('PCMA', 16000)), undefined);
    assert.equal(createDecoder(format('G722', 16000)), undefined);
  });

  it('returns undefined for unknown encodings, comfort noise and telephone-event', () => {
    for (const encoding of ['OPUS', 'G729', 'CN', 'telephone-event', '']) {
      assert.equal(createDecoder(format(encoding)), undefined, encoding);
    }
  });
});

describe('encoding predicates', () => {
  it('isRecordableEncoding accepts PCMU, PCMA, G722 and L16 in any case', () => {
    assert.deepEqual(
      ['PCMU', 'pcma', 'G722', 'l16', 'OPUS', 'CN', 'telephone-event'].map((name) => isRecordableEncoding(name)),
      [true, true, true, true, false, false, false],
    );
  });

  it('isComfortNoise recognises CN in any case', () => {
    assert.deepEqual(
      ['CN', 'cn', 'PCMU'].map((name) => isComfortNoise(name)),
      [true, true, false],
    );
  });

  it('isTelephoneEvent recognises telephone-event in any case', () => {
    assert.deepEqual(
      ['telephone-event', 'TELEPHONE-EVENT', 'tone'].map((name) => isTelephoneEvent(name)),
      [true, true, false],
    );
  });
});
