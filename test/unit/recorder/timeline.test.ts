/**
 * The recording timeline (SPEC §2 "keep the legs aligned in time"): one RecordingClock per call
 * maps monotonic instants to frame positions for every leg; the parts a leg recorder is built
 * from — the reorder ring (RFC 3550 A.1 sequence logic), timestamp-to-position mapping with
 * wall-clock re-synchronisation, and the linear resampler — behave on their own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanLog } from '../../../src/recorder/leg-stats.js';
import { LinearResampler } from '../../../src/recorder/linear-resampler.js';
import { ReorderBuffer } from '../../../src/recorder/reorder-buffer.js';
import { StreamPosition } from '../../../src/recorder/stream-position.js';
import { RecordingClock } from '../../../src/recorder/timeline.js';
import { rtp } from './recorder-fakes.js';

describe('RecordingClock', () => {
  it('starts at now() unless given a start instant', () => {
    let now = 1234.5;
    const clock = new RecordingClock({ now: () => now });
    assert.equal(clock.startMs, 1234.5);
    now = 1300;
    assert.equal(clock.now(), 1300);
    assert.equal(clock.positionMs(now), 65.5);
  });

  it('maps instants to frames at any rate, the same for every leg', () => {
    const clock = new RecordingClock({ now: () => 0, startMs: 10_000 });
    assert.equal(clock.frameAt(10_000, 8000), 0);
    assert.equal(clock.frameAt(11_000, 8000), 8000);
    assert.equal(clock.frameAt(11_000, 16000), 16000);
    assert.equal(clock.frameAt(10_000.06, 8000), 0, 'rounded to the nearest frame');
    assert.equal(clock.frameAt(9_990, 8000), -80, 'negative before the start');
    assert.equal(clock.msAtFrame(4000, 8000), 500);
  });
});

function drain(buffer: ReorderBuffer, nowMs: number, force = false): number[] {
  const seqs: number[] = [];
  for (let slot = buffer.nextPlayable(nowMs, force); slot >= 0; slot = buffer.nextPlayable(nowMs, force)) {
    seqs.push((buffer.seq[slot] ?? 0) % 65536);
  }
  return seqs;
}

describe('ReorderBuffer', () => {
  const options = { capacity: 8, maxPayloadBytes: 200, windowMs: 60 };

  it('holds the first packet for the window, then plays in sequence order immediately', () => {
    const buffer = new ReorderBuffer(options);
    assert.equal(buffer.insert(rtp(11, 0, 0)), 'held');
    assert.equal(buffer.insert(rtp(10, 0, 5)), 'held', 'a predecessor of the first packet is still placed');
    assert.deepEqual(drain(buffer, 59), []);
    assert.deepEqual(drain(buffer, 60), [10, 11]);
    buffer.insert(rtp(12, 0, 80));
    assert.deepEqual(drain(buffer, 80), [12]);
  });

  it('copies the payload, so the datagram buffer may be reused', () => {
    const buffer = new ReorderBuffer(options);
    const datagram = Uint8Array.of(1, 2, 3);
    buffer.insert(rtp(1, 0, 0, { payload: datagram }));
    datagram.fill(9);
    const slot = buffer.nextPlayable(100, false);
    assert.deepEqual([...buffer.payload(slot)], [1, 2, 3]);
    assert.equal(buffer.length[slot], 3);
  });

  it('skips a missing packet once the earliest held packet waited the window', () => {
    const buffer = new ReorderBuffer(options);
    buffer.insert(rtp(1, 0, 0));
    drain(buffer, 60);
    buffer.insert(rtp(3, 0, 100));
    buffer.insert(rtp(4, 0, 120));
    assert.deepEqual(drain(buffer, 159), []);
    assert.deepEqual(drain(buffer, 160), [3, 4]);
    assert.equal(buffer.insert(rtp(2, 0, 170)), 'late');
    assert.equal(buffer.insert(rtp(4, 0, 171)), 'duplicate');
    assert.equal(buffer.expected, 4);
  });

  it('extends sequence numbers across the 65535 wrap', () => {
    const buffer = new ReorderBuffer(options);
    buffer.insert(rtp(65534, 0, 0));
    buffer.insert(rtp(0, 0, 1));
    buffer.insert(rtp(65535, 0, 2));
    assert.deepEqual(drain(buffer, 100), [65534, 65535, 0]);
    assert.equal(buffer.expected, 3);
  });

  it('asks for a play-out when a packet lies beyond the ring', () => {
    const buffer = new ReorderBuffer(options);
    buffer.insert(rtp(1, 0, 0));
    drain(buffer, 60);
    buffer.insert(rtp(3, 0, 61));
    assert.equal(buffer.insert(rtp(20, 0, 62)), 'full');
    assert.deepEqual(drain(buffer, 62, true), [3]);
    assert.equal(buffer.insert(rtp(20, 0, 62)), 'held');
    assert.deepEqual(drain(buffer, 200), [20]);
  });

  it('restarts the sequence after two consecutive far-away packets (RFC 3550 A.1)', () => {
    const buffer = new ReorderBuffer(options);
    buffer.insert(rtp(100, 0, 0));
    drain(buffer, 60);
    assert.equal(buffer.insert(rtp(40_000, 0, 80)), 'probation');
    assert.equal(buffer.insert(rtp(101, 0, 81)), 'held');
    assert.deepEqual(drain(buffer, 81), [101]);
    assert.equal(buffer.insert(rtp(40_001, 0, 100)), 'restart');
    buffer.restartFromProbation();
    assert.equal(buffer.insert(rtp(40_001, 0, 100)), 'held');
    assert.deepEqual(drain(buffer, 200), [40_000, 40_001]);
    assert.equal(buffer.expected, 4);
  });

  it('keeps payloads larger than a slot out, flagged with length -1', () => {
    const buffer = new ReorderBuffer(options);
    buffer.insert(rtp(1, 0, 0, { bytes: 201 }));
    const slot = buffer.nextPlayable(0, true);
    assert.equal(buffer.length[slot], -1);
    assert.equal(buffer.payload(slot).length, 0);
  });
});

describe('StreamPosition', () => {
  const make = (): StreamPosition => new StreamPosition({ sampleRate: 8000, thresholdMs: 200, confirmMs: 100 });

  it('anchors the first packet at its arrival and follows timestamps across the 2^32 wrap', () => {
    const position = make();
    assert.equal(position.place(2 ** 32 - 160, 8000, 0, 800, 0), 800);
    assert.equal(position.place(0, 8000, 20, 960, 960), 960);
    assert.equal(position.place(8000, 8000, 1000, 8800, 1120), 8960, 'a second of DTX');
    assert.equal(position.resyncs, 0);
  });

  it('never anchors a new stream behind what is written', () => {
    const position = make();
    assert.equal(position.place(0, 8000, 0, 100, 250), 250);
  });

  it('re-anchors at once when timestamps run ahead of the wall clock', () => {
    const position = make();
    position.place(0, 8000, 0, 0, 0);
    assert.equal(position.place(160 + 8000 * 3600, 8000, 20, 160, 160), 160);
    assert.equal(position.resyncs, 1);
    assert.equal(position.place(320 + 8000 * 3600, 8000, 40, 320, 320), 320);
  });

  it('re-anchors a lag behind the wall clock only when it persists', () => {
    const position = make();
    position.place(0, 8000, 0, 0, 0);
    assert.equal(position.place(160, 8000, 300, 2400, 160), 160, 'a delay spike: not yet');
    assert.equal(position.place(320, 8000, 301, 2408, 320), 320);
    assert.equal(position.place(480, 8000, 302, 480, 480), 480, 'the burst is over');
    assert.equal(position.place(640, 8000, 700, 5600, 640), 640);
    assert.equal(position.place(800, 8000, 820, 6560, 800), 6560, 'persisted: re-anchored');
    assert.equal(position.resyncs, 1);
  });

  it('keeps the timeline continuous when the RTP clock rate changes', () => {
    const position = make();
    position.place(0, 8000, 0, 0, 0);
    assert.equal(position.place(160, 16000, 20, 160, 160), 160);
    assert.equal(position.place(480, 16000, 40, 320, 320), 320);
  });

  it('anchors from an earlier-arriving packet when reordering plays another first', () => {
    const position = make();
    position.hint(160, 160);
    assert.equal(position.place(0, 8000, 25, 200, 0), 0);
  });
});

describe('LinearResampler', () => {
  it('doubles 8 kHz blocks to exactly twice their length, continuous across blocks', () => {
    const resampler = new LinearResampler();
    const out = new Int16Array(LinearResampler.capacityFor(4, 8000, 16000));
    assert.equal(resampler.process(Int16Array.of(0, 100, 200, 300), 0, 4, 8000, 16000, out, 0), 8);
    assert.deepEqual([...out.subarray(0, 8)], [0, 0, 50, 100, 150, 200, 250, 300]);
    assert.equal(resampler.process(Int16Array.of(400, 500), 0, 2, 8000, 16000, out, 0), 4);
    assert.deepEqual([...out.subarray(0, 4)], [350, 400, 450, 500]);
  });

  it('halves 16 kHz blocks to exactly half their length', () => {
    const resampler = new LinearResampler();
    const out = new Int16Array(8);
    const input = Int16Array.of(0, 10, 20, 30, 40, 50);
    assert.equal(resampler.process(input, 0, 6, 16000, 8000, out, 0), 3);
    assert.equal(resampler.process(input, 0, 6, 16000, 8000, out, 3), 3);
    assert.deepEqual([...out.subarray(0, 6)], [10, 30, 50, 10, 30, 50]);
  });
});

describe('SpanLog', () => {
  it('opens once, closes once, and lists closed spans', () => {
    const log = new SpanLog();
    assert.equal(log.open(100, 'hold'), true);
    assert.equal(log.open(150, 'again'), false);
    assert.equal(log.close(400), true);
    assert.equal(log.close(500), false);
    assert.deepEqual(log.list(), [{ startMs: 100, endMs: 400, reason: 'hold' }]);
  });
});
