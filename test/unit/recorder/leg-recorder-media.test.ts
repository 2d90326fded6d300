/**
 * LegRecorder media (SPEC §2 recorder, §4 completeness): one leg's RTP is reordered within a window,
 * decoded and placed on the call's timeline by RTP timestamp, anchored at the wall clock; loss,
 * silence suppression, CN, DTMF, hold and pause become silence of the right length; duplicates and
 * late packets are counted and dropped; SSRC changes and timestamp jumps re-synchronise to the
 * wall clock instead of writing hours of silence; every leg is padded to the same end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseOutputSampleRate, type LegRecorder } from '../../../src/recorder/leg-recorder.js';
import { RecordingClock } from '../../../src/recorder/timeline.js';
import {
  eventPayload,
  fakeDecoderFor,
  FORMATS,
  PT_CN,
  PT_EVENT,
  PT_LIN16,
  PT_LIN8,
  PT_OPUS,
  PT_WIDE,
  rtp,
  stream,
} from './recorder-fakes.js';
import { START, type Harness, harness, packetValues, range } from './leg-recorder-harness.js';

describe('LegRecorder', () => {
  it('fills silence suppression (a timestamp gap with the marker bit) with silence', () => {
    const h = harness();
    const packets = [...stream(0, 0, START, 10), ...stream(10, 10 * 160 + 8000, START + 1200, 10, { marker: false })];
    packets[10] = rtp(10, 10 * 160 + 8000, START + 1200, { marker: true });
    h.run(packets, START + 1400);
    const stats = h.recorder.finish(START + 1400);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 1600 },
      { kind: 'silence', offset: 1600, count: 8000 },
      { kind: 'audio', offset: 9600, count: 1600 },
    ]);
    assert.equal(stats.resyncs, 0);
    assert.equal(stats.packetsLost, 0);
  });

  it('writes comfort noise as silence for its span', () => {
    const h = harness();
    const packets = [
      ...stream(0, 0, START, 5),
      rtp(5, 5 * 160, START + 100, { pt: PT_CN, bytes: 1, fill: 40 }),
      ...stream(6, 5 * 160 + 1600, START + 300, 5),
    ];
    h.run(packets, START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.equal(stats.cnPackets, 1);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 800 },
      { kind: 'silence', offset: 800, count: 1600 },
      { kind: 'audio', offset: 2400, count: 800 },
    ]);
  });

  function dtmfCall(keepDigits: boolean): { h: Harness; stats: ReturnType<LegRecorder['finish']> } {
    const h = harness({ keepDigits });
    const packets = [...stream(0, 0, START, 5)];
    let seq = 5;
    for (const [event, start] of [
      [5, 800],
      [11, 2400],
    ] as const) {
      for (let d = 1; d <= 3; d++)
        packets.push(
          rtp(seq++, start, START + start / 8 + d * 20, { pt: PT_EVENT, payload: eventPayload(event, false, d * 160) }),
        );
      for (let r = 0; r < 3; r++)
        packets.push(
          rtp(seq++, start, START + start / 8 + 80 + r, { pt: PT_EVENT, payload: eventPayload(event, true, 640) }),
        );
    }
    packets.push(...stream(seq, 4000, START + 500, 5));
    h.run(packets, START + 600);
    return { h, stats: h.recorder.finish(START + 600) };
  }

  it('never writes telephone-events as audio and counts each event once', () => {
    const { h, stats } = dtmfCall(false);
    assert.equal(stats.telephoneEvents, 2);
    assert.equal(stats.digits, undefined, 'digits can be PINs: not kept by default');
    assert.equal(h.sink.total('audio'), 10 * 160);
    assert.deepEqual(h.sink.runs()[1], { kind: 'silence', offset: 800, count: 4000 - 800 });
    assert.equal(stats.packetsLost, 0);
  });

  it('collects the digits only when told to keep them', () => {
    const { stats } = dtmfCall(true);
    assert.equal(stats.digits, '5#');
  });

  it('counts packets it cannot decode and leaves their span silent', () => {
    const h = harness();
    const packets = stream(0, 0, START, 10).map((p) =>
      p.sequenceNumber === 4
        ? rtp(4, 640, p.arrivalMs, { pt: PT_OPUS })
        : p.sequenceNumber === 5
          ? rtp(5, 800, p.arrivalMs, { pt: 77 })
          : p,
    );
    h.run(packets, START + 200);
    const stats = h.recorder.finish(START + 200);
    assert.equal(stats.undecodablePackets, 2);
    assert.deepEqual(h.sink.runs()[1], { kind: 'silence', offset: 640, count: 320 });
  });

  it('records hold spans and keeps the file advancing with silence while on hold', () => {
    const h = harness();
    h.run(stream(0, 0, START, 25), START + 500);
    h.at(START + 500);
    h.recorder.setHold(true, 're-INVITE a=sendonly');
    h.run([], START + 2500);
    assert.ok(h.sink.frames >= (2500 - 260) * 8 - 160, 'the hold is in the file as it happens');
    h.at(START + 2500);
    h.recorder.setHold(false, 're-INVITE a=sendrecv');
    h.run(stream(25, 777_777, START + 2500, 25), START + 3000);
    const stats = h.recorder.finish(START + 3000);
    assert.deepEqual(stats.holdSpans, [{ startMs: 500, endMs: 2500, reason: 're-INVITE a=sendonly' }]);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 4000 },
      { kind: 'silence', offset: 4000, count: 16000 },
      { kind: 'audio', offset: 20000, count: 4000 },
    ]);
  });

  it('writes paused spans as silence on the same timeline and lists them', () => {
    const h = harness();
    h.run(stream(0, 0, START, 10), START + 190);
    h.at(START + 200);
    h.recorder.pause('card number');
    h.run(stream(10, 1600, START + 200, 10), START + 390);
    h.at(START + 400);
    h.recorder.resume();
    h.run(stream(20, 3200, START + 400, 10), START + 600);
    const stats = h.recorder.finish(START + 600);
    assert.deepEqual(stats.pauseSpans, [{ startMs: 200, endMs: 400, reason: 'card number' }]);
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 1600 },
      { kind: 'silence', offset: 1600, count: 1600 },
      { kind: 'audio', offset: 3200, count: 1600 },
    ]);
    assert.ok(!h.sink.samples.includes(15), 'no paused audio in the file');
  });

  it('aligns two legs that start at different wall times on one timeline', () => {
    let now = START;
    const clock = new RecordingClock({ now: () => now, startMs: START });
    const a = harness({}, clock);
    const b = harness({}, clock);
    a.run(stream(0, 0, START + 3, 99), START + 2000);
    b.run(stream(9000, 0x7000_0000, START + 1237, 38), START + 2000);
    now = START + 2000;
    const sa = a.recorder.finish(START + 2000);
    const sb = b.recorder.finish(START + 2000);
    assert.equal(sa.samplesWritten, sb.samplesWritten);
    assert.equal(sb.samplesWritten, 16000);
    const lead = b.sink.runs()[0]!;
    assert.equal(lead.kind, 'silence');
    assert.ok(Math.abs(lead.count - 1237 * 8) <= 160, `lead ${lead.count}`);
    assert.equal(a.sink.runs()[0]?.count, 24);
  });

  it('pads the file with silence to the end of the call', () => {
    const h = harness();
    h.run(stream(0, 0, START, 25), START + 500);
    const stats = h.recorder.finish(START + 2000);
    assert.equal(stats.samplesWritten, 16000);
    assert.deepEqual(h.sink.runs().at(-1), { kind: 'silence', offset: 4000, count: 12000 });
    assert.deepEqual(stats, h.recorder.finish(START + 9000), 'finish is idempotent');
  });

  it('plays out held packets on tick when the stream stops', () => {
    const h = harness();
    const packets = stream(0, 0, START, 6).filter((p) => p.sequenceNumber !== 4);
    h.run(packets, START + 100);
    assert.equal(h.sink.total('audio'), 4 * 160, 'packet 5 still waits for 4');
    h.run([], START + 200);
    assert.equal(h.sink.total('audio'), 5 * 160);
  });

  it('resamples a codec change from 8 kHz to 16 kHz mid-call to the file rate', () => {
    const h = harness();
    const packets = [
      ...stream(0, 0, START, 10),
      ...stream(10, 1600, START + 200, 10, { pt: PT_LIN16, bytes: 320, tsStep: 320 }),
      ...stream(20, 4800, START + 400, 10, { pt: PT_WIDE }),
    ];
    h.run(packets, START + 600);
    const stats = h.recorder.finish(START + 600);
    assert.equal(stats.sampleRate, 8000);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 30 * 160 }]);
    assert.deepEqual(packetValues(h.sink.samples), range(0, 30));
  });

  it('upsamples an 8 kHz codec into a 16 kHz file', () => {
    const h = harness({ outputSampleRate: 16000 });
    h.run(stream(0, 0, START, 10), START + 200);
    const stats = h.recorder.finish(START + 200);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 3200 }]);
    assert.deepEqual(packetValues(h.sink.samples, 320), range(0, 10));
    assert.equal(stats.durationMs, 200);
  });

  it('decodes by the formats of the latest offer/answer after setFormats', () => {
    const h = harness();
    h.run(stream(0, 0, START, 5), START + 100);
    h.recorder.setFormats(new Map([[100, { payloadType: 100, encoding: 'LIN16', clockRate: 16000, channels: 1 }]]));
    const packets = [
      ...stream(5, 800, START + 100, 5, { pt: 100, bytes: 320, tsStep: 320 }),
      rtp(10, 4800, START + 200, { pt: PT_LIN8 }),
    ];
    h.run(packets, START + 220);
    const stats = h.recorder.finish(START + 220);
    assert.equal(stats.undecodablePackets, 1, 'PT 96 is no longer negotiated');
    assert.deepEqual(h.sink.runs(), [
      { kind: 'audio', offset: 0, count: 1600 },
      { kind: 'silence', offset: 1600, count: 160 },
    ]);
  });

  it('follows a sequence restart on the same SSRC (RFC 3550 A.1)', () => {
    const h = harness();
    h.run([...stream(0, 0, START, 10), ...stream(30000, 1600, START + 200, 10)], START + 400);
    const stats = h.recorder.finish(START + 400);
    assert.equal(stats.sequenceRestarts, 1);
    assert.equal(stats.packetsExpected, 20);
    assert.equal(stats.packetsLate, 0);
    assert.deepEqual(h.sink.runs(), [{ kind: 'audio', offset: 0, count: 3200 }]);
  });

  it('never throws from push, even when the sink fails', () => {
    const h = harness();
    h.sink.writeSamples = () => {
      throw new Error('disk full');
    };
    assert.doesNotThrow(() => h.run(stream(0, 0, START, 10), START + 200));
    const stats = h.recorder.finish(START + 200);
    assert.ok(stats.errors > 0);
    assert.match(String(h.recorder.lastError), /disk full/);
  });

  it('chooses the first recordable codec rate as the output rate', () => {
    const formats = new Map([...FORMATS].filter(([pt]) => pt !== PT_LIN8).sort(([a], [b]) => a - b));
    assert.equal(chooseOutputSampleRate(formats, fakeDecoderFor), 16000);
    assert.equal(chooseOutputSampleRate(new Map([[PT_CN, FORMATS.get(PT_CN)!]]), fakeDecoderFor), 8000);
    const h = harness({ outputSampleRate: undefined, formats: new Map([[PT_WIDE, FORMATS.get(PT_WIDE)!]]) });
    assert.equal(h.recorder.sampleRate, 16000);
  });
});
