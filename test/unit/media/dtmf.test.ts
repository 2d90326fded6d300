/**
 * DTMF detection. Requirements verified:
 *  - RFC 4733 §2.5.1.3: an event is reported once, on its first end packet, although the end
 *    packet is sent three times; packets of other payload types, junk and non-DTMF events are
 *    ignored; an event whose end packets were all lost is reported when the next one starts;
 *    §2.5.1.5: a long event continued with a new timestamp is one key; a new SSRC starts afresh;
 *  - SIP INFO: application/dtmf-relay `Signal=` (also 10/11 for * and #) and application/dtmf;
 *    other content types and bodies without a key give nothing;
 *  - key sequences (pause/resume codes) match as a suffix, reset after the inter-digit pause.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DigitSequence,
  RtpDtmfDetector,
  digitOfEvent,
  parseInfoDigit,
  writeRtpHeader,
  type DtmfDigit,
} from '../../../src/media/index.js';

const TE = 101;

function eventPacket(options: {
  event: number;
  end?: boolean;
  duration: number;
  timestamp: number;
  seq: number;
  ssrc?: number;
  pt?: number;
}): Buffer {
  const packet = Buffer.alloc(16);
  writeRtpHeader(packet, {
    payloadType: options.pt ?? TE,
    sequenceNumber: options.seq,
    timestamp: options.timestamp,
    ssrc: options.ssrc ?? 0xabc,
    marker: options.duration <= 160,
  });
  packet[12] = options.event;
  packet[13] = (options.end === true ? 0x80 : 0) | 10;
  packet.writeUInt16BE(options.duration, 14);
  return packet;
}

/** The packets a phone sends for one key press: 3 updates, then the end packet three times. */
function keyPress(event: number, timestamp: number, seq: number, ssrc?: number): Buffer[] {
  return [
    ...[160, 320, 480].map((duration, i) =>
      eventPacket({ event, duration, timestamp, seq: seq + i, ...(ssrc === undefined ? {} : { ssrc }) }),
    ),
    ...[0, 1, 2].map((i) =>
      eventPacket({
        event,
        duration: 640,
        end: true,
        timestamp,
        seq: seq + 3 + i,
        ...(ssrc === undefined ? {} : { ssrc }),
      }),
    ),
  ];
}

function detect(packets: readonly Buffer[], payloadTypes: number[] = [TE]): DtmfDigit[] {
  const digits: DtmfDigit[] = [];
  const detector = new RtpDtmfDetector(payloadTypes, (digit) => digits.push(digit));
  for (const packet of packets) detector.push(packet);
  return digits;
}

describe('RtpDtmfDetector', () => {
  it('reports a key once although its end packet arrives three times', () => {
    assert.deepEqual(detect(keyPress(1, 8000, 10)), ['1']);
  });

  it('reports consecutive presses of the same key, by timestamp', () => {
    assert.deepEqual(detect([...keyPress(5, 8000, 10), ...keyPress(5, 9600, 16), ...keyPress(11, 12000, 22)]), [
      '5',
      '5',
      '#',
    ]);
  });

  it('maps events 10-15 to * # A B C D and ignores non-DTMF events', () => {
    assert.deepEqual(
      [10, 11, 12, 15, 16, 32].map((code) => digitOfEvent(code)),
      ['*', '#', 'A', 'D', undefined, undefined],
    );
    assert.deepEqual(detect(keyPress(32, 8000, 1)), []);
  });

  it('ignores other payload types, audio packets and junk', () => {
    const audio = Buffer.alloc(172);
    writeRtpHeader(audio, { payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1 });
    assert.deepEqual(detect([...keyPress(1, 8000, 10, undefined).map((p) => p), audio], [96]), []);
    assert.deepEqual(detect([audio, Buffer.from('junk'), Buffer.alloc(13, 0x80)]), []);
    const short = eventPacket({ event: 1, duration: 160, timestamp: 1, seq: 1 }).subarray(0, 14);
    assert.deepEqual(detect([short]), []);
  });

  it('reports a key whose end packets were lost when the next key starts', () => {
    const lostEnd = keyPress(7, 8000, 10).slice(0, 3);
    assert.deepEqual(detect([...lostEnd, ...keyPress(8, 16000, 20)]), ['7', '8']);
  });

  it('treats a long key continued with a new timestamp as one press (§2.5.1.5)', () => {
    const first = eventPacket({ event: 3, duration: 0xffff, timestamp: 1000, seq: 1 });
    const continued = eventPacket({ event: 3, duration: 800, timestamp: 1000 + 0xffff, seq: 2 });
    const end = eventPacket({ event: 3, duration: 960, end: true, timestamp: 1000 + 0xffff, seq: 3 });
    assert.deepEqual(detect([first, continued, end, end]), ['3']);
  });

  it('starts afresh on a new SSRC (same timestamp is a new key there)', () => {
    assert.deepEqual(detect([...keyPress(2, 8000, 10, 1), ...keyPress(4, 8000, 10, 2)]), ['2', '4']);
  });

  it('follows a payload type change', () => {
    const digits: DtmfDigit[] = [];
    const detector = new RtpDtmfDetector([TE], (d) => digits.push(d));
    detector.setPayloadTypes([96]);
    for (const p of keyPress(1, 8000, 1)) detector.push(p);
    for (const p of keyPress(9, 9000, 10).map((b) => Buffer.from(b))) {
      p[1] = (p[1]! & 0x80) | 96;
      detector.push(p);
    }
    assert.deepEqual(digits, ['9']);
  });
});

describe('parseInfoDigit', () => {
  it('reads Signal= of application/dtmf-relay', () => {
    assert.equal(parseInfoDigit('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n'), '5');
    assert.equal(parseInfoDigit('Application/DTMF-Relay; charset=x', 'signal = *\nDuration=250'), '*');
    assert.equal(parseInfoDigit('application/dtmf-relay', Buffer.from('Signal=11\r\n')), '#');
    assert.equal(parseInfoDigit('application/dtmf-relay', 'Signal=a\r\n'), 'A');
  });

  it('reads the body of application/dtmf', () => {
    assert.equal(parseInfoDigit('application/dtmf', '7\r\n'), '7');
    assert.equal(parseInfoDigit('application/dtmf', '10'), '*');
  });

  it('gives nothing for other types or bodies without a key', () => {
    assert.equal(parseInfoDigit('application/sdp', 'Signal=1'), undefined);
    assert.equal(parseInfoDigit(undefined, 'Signal=1'), undefined);
    assert.equal(parseInfoDigit('application/dtmf-relay', 'Duration=160'), undefined);
    assert.equal(parseInfoDigit('application/dtmf-relay', 'Signal=X'), undefined);
    assert.equal(parseInfoDigit('application/dtmf-relay', 'Signal=16'), undefined);
    assert.equal(parseInfoDigit('application/dtmf', '12345'), undefined);
  });
});

describe('DigitSequence', () => {
  const codes = new Map([
    ['*1', 'pause'],
    ['*2', 'resume'],
  ]);

  it('recognises codes as a suffix of the keys', () => {
    let now = 0;
    const sequence = new DigitSequence({ codes, now: () => now });
    const results = (['5', '*', '1', '*', '*', '2'] as DtmfDigit[]).map((d) => {
      now += 200;
      return sequence.push(d);
    });
    assert.deepEqual(results, [undefined, undefined, 'pause', undefined, undefined, 'resume']);
  });

  it('forgets keys after the inter-digit pause', () => {
    let now = 0;
    const sequence = new DigitSequence({ codes, now: () => now, interDigitMs: 1000 });
    assert.equal(sequence.push('*'), undefined);
    now = 1500;
    assert.equal(sequence.push('1'), undefined);
    now = 1700;
    assert.equal(sequence.push('*'), undefined);
    now = 1900;
    assert.equal(sequence.push('1'), 'pause');
  });

  it('does not match a code twice from the same keys', () => {
    let now = 0;
    const sequence = new DigitSequence({ codes: new Map([['11', 'x']]), now: () => now });
    now += 10;
    assert.equal(sequence.push('1'), undefined);
    now += 10;
    assert.equal(sequence.push('1'), 'x');
    now += 10;
    assert.equal(sequence.push('1'), undefined);
  });
});
