/**
 * Stereo merge (SPEC §2 `both-stereo`): two mono legs on one timeline become one stereo PCM16 WAV,
 * caller left and callee right, streaming in chunks; the lower-rate leg is upsampled by linear
 * interpolation, the shorter one padded with silence, G.711 legs decoded as sox decodes them.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseWavHeader, type WavFormat } from '../../../src/recorder/wav-format.js';
import { mergeToStereo } from '../../../src/recorder/stereo-merge.js';
import { WavWriter } from '../../../src/recorder/wav-writer.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-stereo-merge-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const next = (name: string): string => join(dir, `${counter++}-${name}`);
const soxi = (flag: string, path: string): string => execFileSync('soxi', [flag, path], { encoding: 'utf8' }).trim();

function tone(hz: number, rate: number, frames: number, amplitude = 12000): Int16Array {
  const pcm = new Int16Array(frames);
  for (let i = 0; i < frames; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return pcm;
}

async function monoWav(pcm: Int16Array, rate: number): Promise<string> {
  const path = next(`mono-${rate}.wav`);
  const writer = await WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: rate });
  writer.writeSamples(pcm, 0, pcm.length);
  await writer.close();
  return path;
}

async function encodedWav(format: WavFormat, bytes: Buffer): Promise<string> {
  const path = next(`${format}.wav`);
  const writer = await WavWriter.open(path, { format, channels: 1, sampleRate: 8000 });
  writer.writeEncoded(bytes);
  await writer.close();
  return path;
}

/** The two channels of a stereo PCM16 WAV. */
async function channels(path: string): Promise<{ left: Int16Array; right: Int16Array; rate: number }> {
  const file = await readFile(path);
  const result = parseWavHeader(file, file.length);
  assert.ok(result.ok && result.info.sizesMatch && result.info.channels === 2 && result.info.format === 'pcm16');
  const { dataOffset, frames, sampleRate } = result.info;
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = file.readInt16LE(dataOffset + 4 * i);
    right[i] = file.readInt16LE(dataOffset + 4 * i + 2);
  }
  return { left, right, rate: sampleRate };
}

describe('mergeToStereo', () => {
  it('puts the caller in the left channel and the callee in the right, untouched at equal rates', async () => {
    const caller = tone(440, 8000, 8000);
    const callee = tone(1000, 8000, 8000, 5000);
    const out = next('both.wav');
    const summary = await mergeToStereo({ left: await monoWav(caller, 8000), right: await monoWav(callee, 8000), out });
    assert.deepEqual([summary.channels, summary.sampleRate, summary.frames], [2, 8000, 8000]);
    const { left, right } = await channels(out);
    assert.deepEqual(left, caller);
    assert.deepEqual(right, callee);
    assert.equal(soxi('-c', out), '2');
    assert.equal(soxi('-D', out), '1.000000');
  });

  it('keeps a tone in its own channel: the other channel stays silent', async () => {
    const silent = new Int16Array(8000);
    const out = next('left-only.wav');
    await mergeToStereo({ left: await monoWav(tone(440, 8000, 8000), 8000), right: await monoWav(silent, 8000), out });
    const { left, right } = await channels(out);
    assert.ok(left.some((v) => Math.abs(v) > 10000));
    assert.ok(right.every((v) => v === 0));
    const rms = (channel: string) =>
      spawnSync('sox', [out, '-n', 'remix', channel, 'stat'], { encoding: 'utf8' }).stderr;
    assert.match(rms('2'), /RMS\s+amplitude:\s+0\.000000/, 'sox sees nothing in the right channel');
    assert.doesNotMatch(rms('1'), /RMS\s+amplitude:\s+0\.000000/);
  });

  it('upsamples an 8 kHz leg beside a 16 kHz leg by linear interpolation', async () => {
    const narrow = tone(300, 8000, 8000);
    const wide = tone(3000, 16000, 16000);
    const out = next('mixed-rates.wav');
    const summary = await mergeToStereo({ left: await monoWav(narrow, 8000), right: await monoWav(wide, 16000), out });
    assert.deepEqual([summary.sampleRate, summary.frames], [16000, 16000]);
    assert.equal(soxi('-r', out), '16000');
    assert.equal(soxi('-D', out), '1.000000');
    const { left, right } = await channels(out);
    assert.deepEqual(right, wide);
    for (let i = 0; i < 8000; i++) {
      const a = narrow[i]!;
      const b = i + 1 < 8000 ? narrow[i + 1]! : a;
      assert.equal(left[2 * i], a);
      assert.equal(left[2 * i + 1], Math.round((a + b) / 2));
    }
  });

  it('produces the same output whatever the chunk size', async () => {
    const l = await monoWav(tone(440, 8000, 3001), 8000);
    const r = await monoWav(tone(700, 16000, 5999), 16000);
    const small = next('chunk-7.wav');
    const big = next('chunk-4096.wav');
    await mergeToStereo({ left: l, right: r, out: small, chunkFrames: 7 });
    await mergeToStereo({ left: l, right: r, out: big });
    assert.deepEqual(await readFile(small), await readFile(big));
  });

  it('pads the shorter leg with silence to the longer one', async () => {
    const long = tone(440, 16000, 16000);
    const short = tone(440, 8000, 4000); // 0.5 s
    const out = next('padded.wav');
    const summary = await mergeToStereo({ left: await monoWav(short, 8000), right: await monoWav(long, 16000), out });
    assert.equal(summary.durationMs, 1000);
    const { left, right } = await channels(out);
    assert.deepEqual(right, long);
    assert.ok(left.subarray(0, 8000).some((v) => v !== 0));
    assert.ok(
      left.subarray(8000).every((v) => v === 0),
      'silence after the short leg ends',
    );
  });

  for (const format of ['alaw', 'mulaw'] as const) {
    it(`decodes ${format} legs exactly as sox does`, async () => {
      const bytes = Buffer.alloc(512);
      for (let i = 0; i < 512; i++) bytes[i] = i & 0xff; // every code word, twice
      const input = await encodedWav(format, bytes);
      const expected = execFileSync('sox', [input, '-t', 's16', '-']);
      const out = next(`${format}-merged.wav`);
      await mergeToStereo({ left: input, right: await monoWav(new Int16Array(512), 8000), out });
      const { left } = await channels(out);
      for (let i = 0; i < 512; i++)
        assert.equal(left[i], expected.readInt16LE(2 * i), `code 0x${(i & 0xff).toString(16)}`);
    });
  }

  it('refuses a stereo input and an existing output without leaving files behind', async () => {
    const mono = await monoWav(tone(440, 8000, 800), 8000);
    const stereoPath = next('stereo-in.wav');
    const writer = await WavWriter.open(stereoPath, { format: 'pcm16', channels: 2, sampleRate: 8000 });
    writer.writeSamples(new Int16Array(1600), 0, 800);
    await writer.close();
    const out = next('never.wav');
    await assert.rejects(mergeToStereo({ left: mono, right: stereoPath, out }), {
      code: 'RECORDING_FORMAT',
      message: /2 channels/,
    });
    await assert.rejects(access(out), { code: 'ENOENT' });
    await assert.rejects(mergeToStereo({ left: mono, right: mono, out: mono }), { code: 'RECORDING_IO' });
    assert.equal(soxi('-s', mono), '800', 'the existing file was not touched');
  });
});
