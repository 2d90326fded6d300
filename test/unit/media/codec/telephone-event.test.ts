/**
 * RFC 4733 telephone-event payloads. Requirements verified:
 *  - §2.3: event (8 bits), E (1), R (1, ignored on receipt), volume (6), duration (16, unsigned);
 *  - payloads shorter than 4 octets are rejected;
 *  - §2.5.1.3: the final packet is sent three times with the same RTP timestamp, so each
 *    completed event is reported once, by timestamp, and only when an end packet arrives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  TelephoneEventTracker,
  createTelephoneEventView,
  parseTelephoneEvent,
  writeTelephoneEvent,
  type TelephoneEventView,
} from '../../../../src/media/codec/index.js';

function parsed(bytes: number[]): TelephoneEventView {
  const view = createTelephoneEventView();
  assert.equal(parseTelephoneEvent(Uint8Array.from(bytes), view), true);
  return view;
}

describe('parseTelephoneEvent', () => {
  it('reads event, end bit, volume and duration (RFC 4733 §2.3)', () => {
    assert.deepEqual(parsed([0x0a, 0x80, 0x00, 0xa0]), { event: 10, end: true, volume: 0, duration: 160 });
    assert.deepEqual(parsed([0x05, 0x0a, 0x03, 0x20]), { event: 5, end: false, volume: 10, duration: 800 });
  });

  it('ignores the reserved R bit and reads the duration as unsigned', () => {
    assert.deepEqual(parsed([0x0b, 0x7f, 0xff, 0xff]), { event: 11, end: false, volume: 63, duration: 65535 });
  });

  it('rejects payloads shorter than 4 octets', () => {
    assert.equal(parseTelephoneEvent(Uint8Array.of(1, 0x80, 0), createTelephoneEventView()), false);
  });

  it('reads the first event when more octets follow', () => {
    assert.deepEqual(parsed([0x01, 0x80, 0x01, 0x40, 0x02, 0x00, 0x00, 0xa0]), {
      event: 1,
      end: true,
      volume: 0,
      duration: 320,
    });
  });

  it('reads back what writeTelephoneEvent wrote', () => {
    const buf = new Uint8Array(6);
    const event = { event: 15, end: true, volume: 37, duration: 4321 };
    assert.equal(writeTelephoneEvent(buf, 2, event), 4);
    const view = createTelephoneEventView();
    assert.equal(parseTelephoneEvent(buf.subarray(2), view), true);
    assert.deepEqual(view, event);
  });
});

describe('TelephoneEventTracker', () => {
  /** The packets of one key press as senders emit them: updates, then the end packet three times. */
  function keyPress(event: number): TelephoneEventView[] {
    return [
      { event, end: false, volume: 10, duration: 160 },
      { event, end: false, volume: 10, duration: 320 },
      { event, end: true, volume: 10, duration: 480 },
      { event, end: true, volume: 10, duration: 480 },
      { event, end: true, volume: 10, duration: 480 },
    ];
  }

  it('reports a key press once although its end packet arrives three times', () => {
    const tracker = new TelephoneEventTracker();
    const reports = keyPress(1).map((payload) => tracker.accept(1000, payload));
    assert.deepEqual(reports, [false, false, true, false, false]);
  });

  it('reports two presses of the same key separately, by their RTP timestamps', () => {
    const tracker = new TelephoneEventTracker();
    const first = keyPress(5).filter((payload) => tracker.accept(8000, payload));
    const second = keyPress(5).filter((payload) => tracker.accept(9600, payload));
    assert.equal(first.length, 1);
    assert.equal(second.length, 1);
  });

  it('reports nothing for an event whose end packets were all lost', () => {
    const tracker = new TelephoneEventTracker();
    const reports = keyPress(3)
      .filter((payload) => !payload.end)
      .map((payload) => tracker.accept(160, payload));
    assert.deepEqual(reports, [false, false]);
  });

  it('treats timestamps as uint32: 2^32 - 1 and -1 are the same event', () => {
    const tracker = new TelephoneEventTracker();
    const end = { event: 9, end: true, volume: 0, duration: 800 };
    assert.equal(tracker.accept(0xffffffff, end), true);
    assert.equal(tracker.accept(-1, end), false);
    assert.equal(tracker.accept(0, end), true);
  });

  it('reports the first event at timestamp 0', () => {
    assert.equal(new TelephoneEventTracker().accept(0, { event: 0, end: true, volume: 0, duration: 160 }), true);
  });

  it('after reset() reports an end packet at the last timestamp again (new SSRC)', () => {
    const tracker = new TelephoneEventTracker();
    const end = { event: 2, end: true, volume: 0, duration: 800 };
    assert.equal(tracker.accept(42, end), true);
    tracker.reset();
    assert.equal(tracker.accept(42, end), true);
  });
});
