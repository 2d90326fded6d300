/**
 * The announcement player and its clips. Requirements verified:
 *  - RFC 3550 §5.1: one SSRC per playback, sequence numbers +1 and timestamps + samples per packet
 *    (both wrapping), the marker bit only on the first packet (RFC 3551 §4.1, start of talkspurt);
 *  - 20 ms pacing against the start instant (a late timer does not shift later packets), a stall
 *    longer than the lag limit re-anchors instead of bursting, `done` after the last packet played;
 *  - WAV decoding (PCM 16-bit, A-law, μ-law, stereo mixed down) and conversion to PCMU, PCMA,
 *    G.722 (16 kHz audio, RTP clock 8000, RFC 3551 §4.5.2) and L16 (big-endian, RFC 3551 §4.5.11);
 *  - bad files fail with MEDIA_CODEC; the cache reads a file once per version and encodes once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AudioClips,
  decodeWav,
  encodeClip,
  G722Decoder,
  linearToAlaw,
  linearToUlaw,
  PcmaDecoder,
  PcmuDecoder,
  playClip,
  synthesizeTones,
  type EncodedClip,
  type PcmClip,
  type PlayerScheduler,
} from '../../../src/media/index.js';
import { AppError } from '../../../src/errors.js';

/** A fake clock: timers fire when `advance` passes their instant. */
class FakeScheduler implements PlayerScheduler {
  nowMs = 1000;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;
  now(): number {
    return this.nowMs;
  }
  setTimer(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.nowMs + Math.max(0, delayMs), callback });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  get pending(): number {
    return this.#timers.size;
  }
  /** Moves time forward to `to`, firing due timers in order (each at its own instant + `lateMs`). */
  advanceTo(to: number, lateMs = 0): void {
    for (;;) {
      const next = [...this.#timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (next === undefined || next[1].at + lateMs > to) break;
      this.#timers.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].at + lateMs);
      next[1].callback();
    }
    this.nowMs = to;
  }
}

interface Sent {
  readonly at: number;
  readonly marker: boolean;
  readonly pt: number;
  readonly seq: number;
  readonly ts: number;
  readonly ssrc: number;
  readonly payload: Buffer;
}

function capture(scheduler: FakeScheduler): { sent: Sent[]; send: (d: Buffer) => boolean } {
  const sent: Sent[] = [];
  return {
    sent,
    send: (d) => {
      sent.push({
        at: scheduler.nowMs,
        marker: (d[1]! & 0x80) !== 0,
        pt: d[1]! & 0x7f,
        seq: d.readUInt16BE(2),
        ts: d.readUInt32BE(4),
        ssrc: d.readUInt32BE(8),
        payload: Buffer.from(d.subarray(12)),
      });
      return true;
    },
  };
}

function clipOf(packets: number, step = 160): EncodedClip {
  return {
    name: 'test.wav',
    sha256: '0'.repeat(64),
    encoding: 'PCMU',
    clockRate: 8000,
    timestampStep: step,
    payloads: Array.from({ length: packets }, (_, i) => Buffer.alloc(160, i)),
    durationMs: packets * 20,
  };
}

function wav(options: { format: number; bits: number; channels: number; rate: number; data: Buffer }): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + options.data.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(options.format, 20);
  header.writeUInt16LE(options.channels, 22);
  header.writeUInt32LE(options.rate, 24);
  header.writeUInt32LE((options.rate * options.channels * options.bits) / 8, 28);
  header.writeUInt16LE((options.channels * options.bits) / 8, 32);
  header.writeUInt16LE(options.bits, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(options.data.length, 40);
  return Buffer.concat([header, options.data]);
}

function sine(rate: number, hz: number, ms: number, amplitude = 10000): Int16Array {
  return Int16Array.from({ length: (rate * ms) / 1000 }, (_, n) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / rate)),
  );
}

function pcm16(samples: Int16Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(s, 2 * i));
  return data;
}

/** Amplitude at `hz` (single-bin DFT) of decoded samples. */
function amplitudeAt(samples: Int16Array, rate: number, hz: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < samples.length; n++) {
    re += (samples[n] ?? 0) * Math.cos((2 * Math.PI * hz * n) / rate);
    im += (samples[n] ?? 0) * Math.sin((2 * Math.PI * hz * n) / rate);
  }
  return (2 * Math.hypot(re, im)) / samples.length;
}

describe('playClip packetisation', () => {
  it('sends the first packet at once with the marker bit, the rest without', () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    playClip({ clip: clipOf(3), payloadType: 8, send, scheduler, ssrc: 0x11223344 });
    assert.equal(sent.length, 1, 'first packet before playClip returns');
    scheduler.advanceTo(1100);
    assert.deepEqual(
      sent.map((p) => p.marker),
      [true, false, false],
    );
    assert.ok(sent.every((p) => p.pt === 8 && p.ssrc === 0x11223344));
  });

  it('advances sequence by 1 and timestamp by the samples per packet, wrapping both', () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    playClip({ clip: clipOf(4, 160), payloadType: 0, send, scheduler, firstSequence: 65534, firstTimestamp: 0xffffff00 });
    scheduler.advanceTo(2000);
    assert.deepEqual(
      sent.map((p) => p.seq),
      [65534, 65535, 0, 1],
    );
    assert.deepEqual(
      sent.map((p) => p.ts),
      [0xffffff00, 0xffffffa0, 0x40, 0xe0],
    );
    assert.deepEqual(
      sent.map((p) => p.payload[0]),
      [0, 1, 2, 3],
    );
  });

  it('picks a random SSRC, sequence and timestamp when none is given', () => {
    const scheduler = new FakeScheduler();
    const a = capture(scheduler);
    const b = capture(scheduler);
    playClip({ clip: clipOf(1), payloadType: 0, send: a.send, scheduler });
    playClip({ clip: clipOf(1), payloadType: 0, send: b.send, scheduler });
    assert.notEqual(a.sent[0]?.ssrc, b.sent[0]?.ssrc);
  });

  it('paces packets 20 ms apart from the start, not from the previous (late) timer', () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    playClip({ clip: clipOf(10), payloadType: 0, send, scheduler });
    // every timer fires 7 ms late: packets stay on the 20 ms grid (+7), no drift accumulates
    scheduler.advanceTo(1300, 7);
    const offsets = sent.map((p) => p.at - 1000);
    assert.deepEqual(offsets, [0, 27, 47, 67, 87, 107, 127, 147, 167, 187]);
  });

  it('re-anchors after a stall longer than the lag limit instead of bursting the backlog', () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    playClip({ clip: clipOf(20), payloadType: 0, send, scheduler, maxLagMs: 100 });
    scheduler.advanceTo(1020);
    assert.equal(sent.length, 2);
    // the event loop stalls for 500 ms
    scheduler.advanceTo(1520, 480);
    const burst = sent.filter((p) => p.at === 1520).length;
    assert.equal(burst, 1, 'one packet, not the 24 that were due');
    scheduler.advanceTo(5000);
    assert.equal(sent.length, 20, 'every packet still sent once');
    assert.deepEqual(
      sent.map((p) => p.seq - sent[0]!.seq),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('resolves done "completed" 20 ms after the last packet, and leaves no timer', async () => {
    const scheduler = new FakeScheduler();
    const { send } = capture(scheduler);
    const playback = playClip({ clip: clipOf(3), payloadType: 0, send, scheduler });
    let end: string | undefined;
    void playback.done.then((e) => (end = e));
    scheduler.advanceTo(1059);
    await Promise.resolve();
    assert.equal(end, undefined);
    scheduler.advanceTo(1060);
    await playback.done;
    assert.equal(end, 'completed');
    assert.equal(scheduler.pending, 0);
    assert.equal(playback.packetsSent, 3);
  });

  it('stops on stop(): done resolves "stopped", nothing more is sent', async () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    const playback = playClip({ clip: clipOf(50), payloadType: 0, send, scheduler });
    scheduler.advanceTo(1040);
    playback.stop();
    playback.stop();
    scheduler.advanceTo(3000);
    assert.equal(await playback.done, 'stopped');
    assert.equal(sent.length, 3);
    assert.equal(scheduler.pending, 0);
  });

  it('counts refused and throwing sends and keeps playing', async () => {
    const scheduler = new FakeScheduler();
    let calls = 0;
    const playback = playClip({
      clip: clipOf(4),
      payloadType: 0,
      scheduler,
      send: () => {
        calls += 1;
        if (calls === 2) throw new Error('socket closed');
        return calls !== 3;
      },
    });
    scheduler.advanceTo(2000);
    assert.equal(await playback.done, 'completed');
    assert.equal(playback.packetsSent, 2);
    assert.equal(playback.packetsFailed, 2);
  });

  it('completes an empty clip at once', async () => {
    const scheduler = new FakeScheduler();
    const { sent, send } = capture(scheduler);
    const playback = playClip({ clip: clipOf(0), payloadType: 0, send, scheduler });
    assert.equal(await playback.done, 'completed');
    assert.equal(sent.length, 0);
  });
});

describe('WAV clips', () => {
  const tone8k = sine(8000, 500, 200);

  it('decodes 16-bit PCM and hashes the file bytes', () => {
    const bytes = wav({ format: 1, bits: 16, channels: 1, rate: 8000, data: pcm16(tone8k) });
    const clip = decodeWav(bytes, 'a.wav');
    assert.equal(clip.sampleRate, 8000);
    assert.deepEqual([...clip.samples.subarray(0, 10)], [...tone8k.subarray(0, 10)]);
    assert.match(clip.sha256, /^[0-9a-f]{64}$/);
  });

  it('decodes A-law and μ-law files and mixes stereo down', () => {
    const alaw = Buffer.from(Array.from(tone8k, (s) => linearToAlaw(s)));
    const ulaw = Buffer.from(Array.from(tone8k, (s) => linearToUlaw(s)));
    for (const [format, data] of [
      [6, alaw],
      [7, ulaw],
    ] as const) {
      const clip = decodeWav(wav({ format, bits: 8, channels: 1, rate: 8000, data }), 'g711.wav');
      assert.ok(Math.abs(amplitudeAt(clip.samples, 8000, 500) - 10000) < 400, `format ${format}`);
    }
    const stereo = Buffer.alloc(tone8k.length * 4);
    tone8k.forEach((s, i) => {
      stereo.writeInt16LE(s, 4 * i);
      stereo.writeInt16LE(0, 4 * i + 2);
    });
    const mixed = decodeWav(wav({ format: 1, bits: 16, channels: 2, rate: 8000, data: stereo }), 's.wav');
    assert.equal(mixed.samples.length, tone8k.length);
    assert.ok(Math.abs(amplitudeAt(mixed.samples, 8000, 500) - 5000) < 100);
  });

  it('refuses what is not a playable WAV with MEDIA_CODEC', () => {
    const refuse = (bytes: Buffer): void =>
      assert.throws(() => decodeWav(bytes, 'bad.wav'), (e: unknown) => e instanceof AppError && e.code === 'MEDIA_CODEC');
    refuse(Buffer.from('not a wav file at all'));
    refuse(wav({ format: 1, bits: 8, channels: 1, rate: 8000, data: Buffer.alloc(10) }));
    refuse(wav({ format: 3, bits: 32, channels: 1, rate: 8000, data: Buffer.alloc(16) }));
    refuse(wav({ format: 1, bits: 16, channels: 1, rate: 4000, data: Buffer.alloc(16) }));
    refuse(wav({ format: 1, bits: 16, channels: 6, rate: 8000, data: Buffer.alloc(24) }));
    refuse(wav({ format: 1, bits: 16, channels: 1, rate: 8000, data: Buffer.alloc(16) }).subarray(0, 36));
  });

  const clip16k: PcmClip = { name: 'w.wav', sha256: 'x', sampleRate: 16000, samples: sine(16000, 500, 400) };
  const clip8k: PcmClip = { name: 'n.wav', sha256: 'x', sampleRate: 8000, samples: sine(8000, 500, 400) };

  const decodeAll = (clip: EncodedClip, decoder: PcmuDecoder | PcmaDecoder | G722Decoder): Int16Array => {
    const out = new Int16Array(clip.payloads.reduce((n, p) => n + decoder.samplesFor(p.length), 0));
    let at = 0;
    for (const payload of clip.payloads) at += decoder.decode(payload, out, at);
    return out;
  };

  it('converts to PCMU and PCMA at 8 kHz, 160 octets per 20 ms, from 8 or 16 kHz sources', () => {
    for (const source of [clip8k, clip16k]) {
      for (const [encoding, decoder] of [
        ['PCMU', new PcmuDecoder()],
        ['PCMA', new PcmaDecoder()],
      ] as const) {
        const encoded = encodeClip(source, { payloadType: 0, encoding, clockRate: 8000, channels: 1 });
        assert.equal(encoded.payloads.length, 20);
        assert.ok(encoded.payloads.every((p) => p.length === 160));
        assert.equal(encoded.timestampStep, 160);
        assert.equal(encoded.durationMs, 400);
        const amplitude = amplitudeAt(decodeAll(encoded, decoder), 8000, 500);
        assert.ok(Math.abs(amplitude - 10000) < 600, `${encoding} from ${source.sampleRate}: ${amplitude}`);
      }
    }
  });

  it('converts to G.722: 16 kHz audio, 160 octets and 160 timestamp units per 20 ms', () => {
    for (const source of [clip8k, clip16k]) {
      const encoded = encodeClip(source, { payloadType: 9, encoding: 'G722', clockRate: 8000, channels: 1 });
      assert.equal(encoded.timestampStep, 160);
      assert.ok(encoded.payloads.every((p) => p.length === 160));
      const decoded = decodeAll(encoded, new G722Decoder());
      const amplitude = amplitudeAt(decoded.subarray(1600), 16000, 500);
      assert.ok(Math.abs(amplitude - 10000) < 1500, `G.722 from ${source.sampleRate}: ${amplitude}`);
    }
  });

  it('converts to L16 big-endian at the negotiated clock rate', () => {
    const encoded = encodeClip(clip8k, { payloadType: 96, encoding: 'L16', clockRate: 16000, channels: 1 });
    assert.equal(encoded.timestampStep, 320);
    assert.ok(encoded.payloads.every((p) => p.length === 640));
    const first = encoded.payloads[0]!;
    const samples = Int16Array.from({ length: 320 }, (_, i) => first.readInt16BE(2 * i));
    assert.ok(Math.abs(amplitudeAt(samples, 16000, 500) - 10000) < 600);
  });

  it('pads the last packet with silence', () => {
    const short: PcmClip = { name: 's', sha256: 'x', sampleRate: 8000, samples: new Int16Array(170).fill(1000) };
    const encoded = encodeClip(short, { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 });
    assert.equal(encoded.payloads.length, 2);
    assert.equal(encoded.payloads[1]![9], linearToUlaw(1000));
    assert.equal(encoded.payloads[1]![10], linearToUlaw(0));
  });

  it('refuses formats it cannot play', () => {
    for (const format of [
      { payloadType: 18, encoding: 'G729', clockRate: 8000, channels: 1 },
      { payloadType: 101, encoding: 'TELEPHONE-EVENT', clockRate: 8000, channels: 1 },
      { payloadType: 10, encoding: 'L16', clockRate: 44100, channels: 2 },
    ]) {
      assert.throws(() => encodeClip(clip8k, format), /cannot play/);
    }
  });

  it('generates tone sequences with pauses', () => {
    const tone = synthesizeTones('beep', [
      { hz: 425, ms: 100 },
      { hz: 0, ms: 50 },
      { hz: [350, 440], ms: 100 },
    ]);
    assert.equal(tone.samples.length, 2000);
    assert.ok(amplitudeAt(tone.samples.subarray(0, 800), 8000, 425) > 6000);
    assert.ok(tone.samples.subarray(800, 1200).every((s) => s === 0));
  });
});

describe('AudioClips cache', () => {
  const bytes = wav({ format: 1, bits: 16, channels: 1, rate: 8000, data: pcm16(sine(8000, 500, 100)) });

  it('reads a file once per version, re-reads it when it changed, and encodes once per format', async () => {
    let reads = 0;
    let version = 'v1';
    const clips = new AudioClips({
      readFile: () => {
        reads += 1;
        return Promise.resolve(bytes);
      },
      version: () => Promise.resolve(version),
    });
    const [a, b] = await Promise.all([clips.load('/x/inbound.wav'), clips.load('/x/inbound.wav')]);
    assert.equal(reads, 1);
    assert.equal(a, b);
    assert.equal(a.name, 'inbound.wav');
    const pcmu = { payloadType: 0, encoding: 'PCMU', clockRate: 8000, channels: 1 };
    assert.equal(clips.encode(a, pcmu), clips.encode(a, { ...pcmu, payloadType: 96 }));
    assert.notEqual(clips.encode(a, pcmu), clips.encode(a, { ...pcmu, encoding: 'PCMA' }));
    version = 'v2';
    await clips.load('/x/inbound.wav');
    assert.equal(reads, 2);
  });

  it('does not cache a failed read', async () => {
    let fail = true;
    const clips = new AudioClips({
      readFile: () => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve(bytes)),
      version: () => Promise.resolve('v'),
    });
    await assert.rejects(clips.load('/x/a.wav'), /EIO/);
    fail = false;
    assert.equal((await clips.load('/x/a.wav')).sampleRate, 8000);
  });
});
