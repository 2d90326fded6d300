/**
 * RTP header parsing. Requirements verified:
 *  - RFC 3550 §5.1: version 2 only; CC CSRCs follow the 12-octet fixed header; M and PT share
 *    the second octet; sequence 16 bits; timestamp and SSRC are unsigned 32-bit values;
 *  - RFC 3550 §5.3.1: a header extension is 4 octets plus `length` 32-bit words, not payload;
 *  - RFC 3550 §5.1: with P set, the last octet counts padding octets (itself included), not payload;
 *  - junk (short, wrong version, CSRC/extension/padding overrunning the packet) is rejected;
 *  - RFC 5761 §4: second-octet values 192–223 are RTCP on a multiplexed port.
 * The fixtures under test/fixtures/rtp/ are hex dumps of UDP payloads ('#' starts a comment),
 * each with a .info.json stating the expected outcome.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  createRtpHeaderView,
  isRtcp,
  parseRtp,
  readCsrc,
  writeRtpHeader,
  type RtpHeaderView,
} from '../../../../src/media/rtp/index.js';
import { fixturePath } from '../../../support/paths.js';

interface FixtureInfo {
  summary: string;
  reference: string;
  outcome: 'rtp' | 'junk' | 'rtcp';
  expect?: RtpHeaderView;
  csrcs?: number[];
  payloadHex?: string;
}

/** Reads a hex dump: pairs of hex digits separated by white space, '#' comments to end of line. */
function readHexFixture(name: string): Uint8Array {
  const text = readFileSync(fixturePath('rtp', name), 'utf8');
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join(' ')
    .trim()
    .split(/\s+/)
    .filter((token) => token.length > 0);
  return Uint8Array.from(digits, (token) => {
    assert.match(token, /^[0-9a-f]{2}$/i, `${name}: bad hex octet ${token}`);
    return parseInt(token, 16);
  });
}

function readInfo(name: string): FixtureInfo {
  return JSON.parse(readFileSync(fixturePath('rtp', name.replace(/\.hex$/, '.info.json')), 'utf8')) as FixtureInfo;
}

const fixtures = readdirSync(fixturePath('rtp'))
  .filter((name) => name.endsWith('.hex'))
  .sort();

describe('RTP fixtures (test/fixtures/rtp)', () => {
  it('has fixtures of every outcome', () => {
    const outcomes = new Set(fixtures.map((name) => readInfo(name).outcome));
    assert.deepEqual([...outcomes].sort(), ['junk', 'rtcp', 'rtp']);
  });

  for (const name of fixtures) {
    const info = readInfo(name);
    it(`${name}: ${info.summary} (${info.reference})`, () => {
      const packet = readHexFixture(name);
      const view = createRtpHeaderView();
      if (info.outcome === 'rtcp') {
        assert.equal(isRtcp(packet), true);
        return;
      }
      assert.equal(isRtcp(packet), false);
      if (info.outcome === 'junk') {
        assert.equal(parseRtp(packet, view), false);
        return;
      }
      assert.equal(parseRtp(packet, view), true);
      assert.deepEqual(view, info.expect);
      assert.deepEqual(
        Array.from({ length: view.csrcCount }, (_, i) => readCsrc(packet, i)),
        info.csrcs,
      );
      const payload = packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength);
      assert.equal(Buffer.from(payload).toString('hex'), info.payloadHex);
    });
  }
});

describe('parseRtp', () => {
  it('overwrites every field of a reused view, leaving nothing from the previous packet', () => {
    const view = createRtpHeaderView();
    assert.equal(parseRtp(readHexFixture('rfc3550-5.1-csrc-extension-padding.hex'), view), true);
    assert.equal(parseRtp(readHexFixture('rfc3550-5.1-plain.hex'), view), true);
    assert.deepEqual(view, readInfo('rfc3550-5.1-plain.hex').expect);
  });

  it('accepts padding that fills the whole payload (payload length 0)', () => {
    const packet = new Uint8Array(16);
    writeRtpHeader(packet, { payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1, padding: true });
    packet[15] = 4;
    const view = createRtpHeaderView();
    assert.equal(parseRtp(packet, view), true);
    assert.equal(view.payloadLength, 0);
  });

  it('rejects padding that reaches back into the header', () => {
    const packet = new Uint8Array(16);
    writeRtpHeader(packet, { payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 1, padding: true });
    packet[15] = 5;
    assert.equal(parseRtp(packet, createRtpHeaderView()), false);
  });

  it('accepts an extension of 0 words that ends exactly at the end of the packet', () => {
    const packet = Uint8Array.of(0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 0);
    const view = createRtpHeaderView();
    assert.equal(parseRtp(packet, view), true);
    assert.equal(view.payloadOffset, 16);
    assert.equal(view.payloadLength, 0);
  });

  it('reads a payload inside a larger buffer through a subarray view', () => {
    const big = new Uint8Array(64).fill(0xee);
    const packet = big.subarray(10, 30);
    writeRtpHeader(packet, { payloadType: 8, sequenceNumber: 9, timestamp: 10, ssrc: 11 });
    const view = createRtpHeaderView();
    assert.equal(parseRtp(packet, view), true);
    assert.deepEqual([view.payloadOffset, view.payloadLength, view.sequenceNumber], [12, 8, 9]);
  });
});

describe('writeRtpHeader', () => {
  it('writes a header parseRtp reads back, CSRCs and uint32 maxima included', () => {
    const buf = new Uint8Array(40);
    const length = writeRtpHeader(buf, {
      payloadType: 101,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 0x80000000,
      marker: true,
      csrcs: [7, 0xfffffffe],
    });
    assert.equal(length, 20);
    const view = createRtpHeaderView();
    assert.equal(parseRtp(buf.subarray(0, 30), view), true);
    assert.deepEqual(
      [view.payloadType, view.sequenceNumber, view.timestamp, view.ssrc, view.marker, view.csrcCount],
      [101, 65535, 0xffffffff, 0x80000000, true, 2],
    );
    assert.deepEqual([readCsrc(buf, 0), readCsrc(buf, 1)], [7, 0xfffffffe]);
    assert.deepEqual([view.payloadOffset, view.payloadLength], [20, 10]);
  });

  it('refuses a buffer too small for the header and more than 15 CSRCs', () => {
    const fields = { payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0 };
    assert.throws(() => writeRtpHeader(new Uint8Array(11), fields), RangeError);
    assert.throws(
      () => writeRtpHeader(new Uint8Array(100), { ...fields, csrcs: new Array<number>(16).fill(1) }),
      RangeError,
    );
  });
});

describe('isRtcp', () => {
  const packet = (b1: number): Uint8Array => Uint8Array.of(0x80, b1, 0, 1, 0, 0, 0, 0);

  it('says RTCP for packet types 192 to 223 and RTP just outside that range', () => {
    assert.deepEqual(
      [191, 192, 200, 201, 223, 224].map((b1) => isRtcp(packet(b1))),
      [false, true, true, true, true, false],
    );
  });

  it('says not RTCP for RTP payload types without the marker bit (PT 72 unmarked is octet 72)', () => {
    assert.equal(isRtcp(packet(72)), false);
    assert.equal(isRtcp(packet(0)), false);
  });

  it('says not RTCP for wrong versions and packets shorter than 4 octets', () => {
    assert.equal(isRtcp(Uint8Array.of(0x40, 200, 0, 1)), false);
    assert.equal(isRtcp(Uint8Array.of(0x80, 200, 0)), false);
  });
});
