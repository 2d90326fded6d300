/**
 * Announcement clips. Requirements verified:
 *  - WAV decoding (PCM 16-bit, A-law, μ-law, stereo mixed down) and conversion to PCMU, PCMA,
 *    G.722 (16 kHz audio, RTP clock 8000, RFC 3551 §4.5.2) and L16 (big-endian, RFC 3551 §4.5.11);
 *  - bad files fail with MEDIA_CODEC; the cache reads a file once per version (checked at most
 *    once a second) and encodes once per format; generated tones have their pauses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  AudioClips,
  decodeWav,
  encodeClip,
  G722Decoder,
  linearToAlaw,
  linearToUlaw,
  PcmaDecoder,
  PcmuDecoder,
  synthesizeTones,
  type EncodedClip,
  type PcmClip,
} from '../../../src/media/index.js';

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
      assert.throws(
        () => decodeWav(bytes, 'bad.wav'),
        (e: unknown) => e instanceof AppError && e.code === 'MEDIA_CODEC',
      );
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

  it('reads a file once per version, re-reads it when it changed (checked once a second), encodes once per format', async () => {
    let reads = 0;
    let version = 'v1';
    let now = 0;
    const clips = new AudioClips({
      files: {
        readFile: () => {
          reads += 1;
          return Promise.resolve(bytes);
        },
        version: () => Promise.resolve(version),
      },
      now: () => now,
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
    assert.equal(reads, 1, 'not looked at again within a second');
    now = 1500;
    await clips.load('/x/inbound.wav');
    assert.equal(reads, 2, 'the changed file is read again');
  });

  it('does not cache a failed read', async () => {
    let fail = true;
    const clips = new AudioClips({
      files: {
        readFile: () => (fail ? Promise.reject(new Error('EIO')) : Promise.resolve(bytes)),
        version: () => Promise.resolve('v'),
      },
    });
    await assert.rejects(clips.load('/x/a.wav'), /EIO/);
    fail = false;
    assert.equal((await clips.load('/x/a.wav')).sampleRate, 8000);
  });
});
