/**
 * LegRecorder (SPEC §2 recorder, §4 completeness): one leg's RTP is reordered within a window,
 * decoded and placed on the call's timeline by RTP timestamp, anchored at the wall clock; loss,
 * silence suppression, CN, DTMF, hold and pause become silence of the right length; duplicates and
 * late packets are counted and dropped; SSRC changes and timestamp jumps re-synchronise to the
 * wall clock instead of writing hours of silence; every leg is padded to the same end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rtp, stream } from './recorder-fakes.js';
import { START, harness, packetValues, range } from './leg-recorder-harness.js';

describe('LegRecorder', () => {
  it('writes an in-order stream as exactly its samples, in order, without silence', () => {
    const h = harness();
    h.run(stream(1000, 12345, START, 50), START + 1000);
    const stats = h.recorder.finish(START + 1000);
    assert.equal(h.sink.total('audio'), 50 * 160);
    assert.equal(h.sink.total('silence'), 0);
    assert.deepEqual(packetValues(h.sink.samples), range(1000, 50));
    assert.equal(stats.samplesWritten, 8000);
    assert.equal(stats.durationMs, 1000);
    assert.equal(stats.packetsReceived, 50);
    assert.equal(stats.packetsExpected, 50);
    assert.equal(stats.packetsLost, 0);
    assert.equal(stats.firstPacketMs, 0);
    assert.equal(stats.lastPacketMs, 980);
    assert.equal(stats.digits, undefined);
  });

  it('anchors a stream whose first packets arrive in one late burst (event-loop stall) at its true start', () => {
    // As CallRecording configures it: idle silence stays 1 s behind the wall clock
    const h = harness({ silenceLagMs: 1000 });
    // Sent from START every 20 ms; the first 14 (280 ms) are stamped at START + 280 in one burst
    const packets = stream(0, 5000, START, 100).map((p, i) => (i < 14 ? { ...p, arrivalMs: START + 280 } : p));
    h.run(packets, START + 2000);
    const stats = h.recorder.finish(START + 2000);
    assert.equal(stats.framesDropped, 0, 'nothing dropped');
    assert.equal(stats.resyncs, 0, 'no re-synchronisation');
    assert.equal(h.sink.runs()[0]?.kind, 'audio', 'audio from the start, no silence before it');
    assert.equal(h.sink.total('audio'), 100 * 160);
  });

  it('keeps every packet of a 1.5 s event-loop stall: the late tick writes no silence over them', () => {
    // As CallRecording configures it; timers run before the sockets are read after a stall
    const h = harness({ silenceLagMs: 1000 });
    const packets = stream(0, 0, START, 150);
    for (let i = 0; i < 10; i++) {
      h.at(START + i * 20);
      h.recorder.push(packets[i]!);
      h.recorder.tick(START + i * 20);
    }
    h.at(START + 1700);
    h.recorder.tick(START + 1700); // the loop was blocked from START + 180 to START + 1700
    for (let i = 10; i < 85; i++) h.recorder.push({ ...packets[i]!, arrivalMs: START + 1700 });
    for (let i = 85; i < 150; i++) {
      h.at(START + i * 20);
      h.recorder.push(packets[i]!);
      h.recorder.tick(START + i * 20);
    }
    const stats = h.recorder.finish(START + 3000);
    assert.equal(stats.framesDropped, 0, 'nothing dropped');
    assert.equal(stats.resyncs, 0, 'the stream never moved');
    assert.equal(stats.packetsLate, 0);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 150 * 160 }]);
  });

  it('still advances the file with silence when every tick comes late (a steadily overloaded process)', () => {
    const h = harness({ silenceLagMs: 1000 });
    for (let t = START; t <= START + 12_000; t += 400) {
      h.at(t);
      h.recorder.tick(t);
    }
    // Deferred at most 5 s at a time: the file stays within about 6 s of the wall clock
    assert.ok(h.sink.frames >= (12_000 - 6_100) * 8, `${h.sink.frames / 8} ms written after 12 s`);
  });

  it('fills lost packets with silence of exactly their length', () => {
    const h = harness();
    const packets = stream(0, 0, START, 20).filter((p) => p.sequenceNumber !== 7 && p.sequenceNumber !== 8);
    h.run(packets, START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 7 * 160 },
      { kind: 'silence', offset: 7 * 160, count: 2 * 160 },
      { kind: 'audio', offset: 9 * 160, count: 11 * 160 },
    ]);
    assert.equal(stats.packetsExpected, 20);
    assert.equal(stats.packetsLost, 2);
  });

  it('puts packets reordered within the window back in sequence order', () => {
    const h = harness();
    const packets = stream(0, 0, START, 20).map((p) =>
      p.sequenceNumber === 5 ? { ...p, arrivalMs: p.arrivalMs + 45 } : p,
    );
    h.run(packets, START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.deepEqual(packetValues(h.sink.samples), range(0, 20));
    assert.equal(h.sink.total('silence'), 0);
    assert.equal(stats.packetsLate, 0);
    assert.equal(stats.packetsLost, 0);
  });

  it('puts the first packets in order even when the very first arrives out of order', () => {
    const h = harness();
    const packets = stream(0, 0, START, 10).map((p) => (p.sequenceNumber === 0 ? { ...p, arrivalMs: START + 25 } : p));
    h.run(packets, START + 200);
    h.recorder.finish(START + 200);
    assert.deepEqual(packetValues(h.sink.samples), range(0, 10));
    assert.equal(h.sink.runs()[0]?.kind, 'audio');
  });

  it('counts a packet arriving after the window as late and leaves its span silent', () => {
    const h = harness();
    const packets = stream(0, 0, START, 20).map((p) =>
      p.sequenceNumber === 5 ? { ...p, arrivalMs: p.arrivalMs + 150 } : p,
    );
    h.run(packets, START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.equal(stats.packetsLate, 1);
    assert.equal(stats.packetsLost, 0, 'RFC 3550: a late packet was received');
    assert.deepEqual(h.sink.runs()[1], { kind: 'silence', offset: 5 * 160, count: 160 });
    assert.equal(h.sink.frames, 20 * 160);
  });

  it('drops and counts duplicates, whether still held or already played', () => {
    const h = harness();
    const packets = stream(0, 0, START, 20).filter((p) => p.sequenceNumber !== 10);
    packets.push(rtp(3, 3 * 160, START + 3 * 20 + 70)); // played already
    packets.push(rtp(12, 12 * 160, START + 12 * 20 + 1)); // held behind the gap at 10
    packets.push(rtp(10, 10 * 160, START + 10 * 20 + 30)); // fills the gap
    h.run(packets, START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.equal(stats.packetsDuplicate, 2);
    assert.equal(stats.packetsReceived, 22);
    assert.deepEqual(packetValues(h.sink.samples), range(0, 20));
  });

  it('crosses the 2^32 timestamp wrap and the 65535 sequence wrap without a gap', () => {
    const h = harness();
    h.run(stream(65530, 2 ** 32 - 800, START, 20), START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 20 * 160 }]);
    assert.equal(stats.packetsExpected, 20);
    assert.equal(stats.packetsLost, 0);
    assert.equal(stats.resyncs, 0);
  });

  it('re-synchronises a new SSRC with a random timestamp base to the wall clock', () => {
    const h = harness();
    const packets = [
      ...stream(100, 5000, START, 25, { ssrc: 1 }),
      ...stream(40000, 0x9abcdef0, START + 500, 25, { ssrc: 2 }),
    ];
    h.run(packets, START + 1000);
    const stats = h.recorder.finish(START + 1000);
    assert.equal(stats.ssrcChanges, 1);
    assert.equal(stats.packetsExpected, 50);
    assert.equal(h.sink.total('audio'), 50 * 160);
    assert.equal(h.sink.total('silence'), 0);
    assert.equal(stats.samplesWritten, 8000);
  });

  it('treats a timestamp jump of an hour on the same SSRC as a resync, not an hour of silence', () => {
    const h = harness();
    const packets = [...stream(0, 0, START, 25), ...stream(25, 25 * 160 + 3600 * 8000, START + 500, 25)];
    h.run(packets, START + 1000);
    const stats = h.recorder.finish(START + 1000);
    assert.equal(stats.resyncs, 1);
    assert.equal(stats.samplesWritten, 8000);
    assert.equal(h.sink.total('silence'), 0);
    assert.deepEqual(packetValues(h.sink.samples), range(0, 50));
  });

  it('re-synchronises timestamps that stopped advancing over a sending pause', () => {
    const h = harness();
    const packets = [...stream(0, 0, START, 10), ...stream(10, 10 * 160, START + 3000, 10)];
    h.run(packets, START + 3200);
    const stats = h.recorder.finish(START + 3200);
    assert.equal(stats.resyncs, 1);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 1600 },
      { kind: 'silence', offset: 1600, count: 3000 * 8 - 1600 },
      { kind: 'audio', offset: 3000 * 8, count: 1600 },
    ]);
  });

  it('rides out a 250 ms network delay spike without moving the stream', () => {
    const h = harness();
    const packets = stream(0, 0, START, 50).map((p) =>
      p.sequenceNumber >= 10 && p.sequenceNumber < 22
        ? { ...p, arrivalMs: START + 10 * 20 + 250 + p.sequenceNumber }
        : p,
    );
    h.run(packets, START + 1000);
    const stats = h.recorder.finish(START + 1000);
    assert.equal(stats.resyncs, 0);
    assert.equal(stats.framesDropped, 0);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 8000 }]);
  });
});
