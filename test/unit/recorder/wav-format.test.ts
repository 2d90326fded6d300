/**
 * WAV headers (SPEC §2): RIFF WAVE PCM16 / A-law / μ-law, mono or stereo, any rate, with a 28-byte
 * JUNK reserve before `fmt ` so a file can become RF64 in place (EBU Tech 3306: "RF64", ds64 with
 * 64-bit riffSize/dataSize/sampleCount, 32-bit sizes 0xFFFFFFFF). Headers are checked against
 * sox 14.4.2 (`soxi`), which reads RF64 and honours the ds64 data size.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildWavHeader, parseWavHeader, type WavFormat } from '../../../src/recorder/wav-format.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-wav-format-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function soxi(flag: string, path: string): string {
  return execFileSync('soxi', [flag, path], { encoding: 'utf8' }).trim();
}

function parsed(buf: Buffer, fileSize?: number) {
  const result = parseWavHeader(buf, fileSize);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.info;
}

const CASES: readonly {
  format: WavFormat;
  channels: number;
  sampleRate: number;
  encoding: string;
  bits: string;
  headerBytes: number;
}[] = [
  { format: 'pcm16', channels: 1, sampleRate: 8000, encoding: 'Signed Integer PCM', bits: '16', headerBytes: 80 },
  { format: 'pcm16', channels: 2, sampleRate: 16000, encoding: 'Signed Integer PCM', bits: '16', headerBytes: 80 },
  { format: 'pcm16', channels: 1, sampleRate: 44100, encoding: 'Signed Integer PCM', bits: '16', headerBytes: 80 },
  { format: 'alaw', channels: 1, sampleRate: 8000, encoding: 'A-law', bits: '8', headerBytes: 94 },
  { format: 'mulaw', channels: 2, sampleRate: 8000, encoding: 'u-law', bits: '8', headerBytes: 94 },
];

describe('buildWavHeader', () => {
  for (const c of CASES) {
    it(`writes a ${c.format} ${c.channels}-channel ${c.sampleRate} Hz header that soxi and parseWavHeader agree on`, async () => {
      const blockAlign = c.channels * (c.format === 'pcm16' ? 2 : 1);
      const frames = c.sampleRate / 2;
      const data = randomBytes(frames * blockAlign);
      const header = buildWavHeader({ ...c, dataBytes: data.length });
      assert.equal(header.length, c.headerBytes);
      const path = join(dir, `${c.format}-${c.channels}-${c.sampleRate}.wav`);
      await writeFile(path, Buffer.concat([header, data]));

      assert.equal(soxi('-r', path), String(c.sampleRate));
      assert.equal(soxi('-c', path), String(c.channels));
      assert.equal(soxi('-b', path), c.bits);
      assert.equal(soxi('-e', path), c.encoding);
      assert.equal(soxi('-s', path), String(frames));

      const info = parsed(header, header.length + data.length);
      assert.equal(info.container, 'RIFF');
      assert.equal(info.format, c.format);
      assert.equal(info.channels, c.channels);
      assert.equal(info.sampleRate, c.sampleRate);
      assert.equal(info.blockAlign, blockAlign);
      assert.equal(info.byteRate, c.sampleRate * blockAlign);
      assert.equal(info.dataOffset, c.headerBytes);
      assert.equal(info.dataBytes, data.length);
      assert.equal(info.frames, frames);
      assert.equal(info.ds64Offset, 12, 'JUNK reserve is the first chunk');
      assert.equal(info.factOffset === undefined, c.format === 'pcm16', 'fact chunk only for G.711');
      assert.equal(info.sizesMatch, true);
    });
  }

  it('places a 28-byte JUNK chunk before fmt and keeps the layout when switching to RF64', () => {
    const riff = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 1000 });
    const rf64 = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 1000, rf64: true });
    assert.equal(riff.toString('latin1', 12, 16), 'JUNK');
    assert.equal(riff.readUInt32LE(16), 28);
    assert.equal(riff.toString('latin1', 48, 52), 'fmt ');
    assert.equal(rf64.length, riff.length);
    assert.equal(rf64.toString('latin1', 0, 4), 'RF64');
    assert.equal(rf64.readUInt32LE(4), 0xffffffff);
    assert.equal(rf64.toString('latin1', 12, 16), 'ds64');
    assert.equal(rf64.readUInt32LE(16), 28);
    assert.equal(rf64.readBigUInt64LE(20), BigInt(riff.length - 8 + 1000), 'ds64 riffSize');
    assert.equal(rf64.readBigUInt64LE(28), 1000n, 'ds64 dataSize');
    assert.equal(rf64.readBigUInt64LE(36), 500n, 'ds64 sampleCount');
    assert.equal(rf64.readUInt32LE(44), 0, 'ds64 tableLength');
    assert.equal(rf64.readUInt32LE(rf64.length - 4), 0xffffffff, 'data size points to ds64');
    const tail = Buffer.from(riff.subarray(48));
    tail.writeUInt32LE(0xffffffff, tail.length - 4);
    assert.deepEqual(rf64.subarray(48), tail, 'fmt and data chunks unchanged but for the data size');
  });

  it('chooses RF64 by itself when the data does not fit 32-bit sizes, and reads back 64-bit sizes', () => {
    const dataBytes = 5 * 2 ** 30;
    const header = buildWavHeader({ format: 'pcm16', channels: 2, sampleRate: 16000, dataBytes });
    const info = parsed(header, header.length + dataBytes);
    assert.equal(info.container, 'RF64');
    assert.equal(info.dataBytes, dataBytes);
    assert.equal(info.riffSize, header.length - 8 + dataBytes);
    assert.equal(info.frames, dataBytes / 4);
    assert.equal(info.sizesMatch, true);
  });

  it('writes an RF64 file sox reads through its ds64 sizes', async () => {
    const data = Buffer.alloc(16000, 0x11);
    const header = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 10000, rf64: true });
    const path = join(dir, 'rf64-ds64.wav');
    await writeFile(path, Buffer.concat([header, data]));
    assert.equal(soxi('-s', path), '5000', 'sox takes the data size from ds64, not from the file length');
    assert.equal(soxi('-t', path), 'wav');
    assert.equal(parsed(header, header.length + data.length).sizesMatch, false);
  });

  it('rejects channel counts other than 1 or 2 and non-integer rates', () => {
    assert.throws(() => buildWavHeader({ format: 'pcm16', channels: 3, sampleRate: 8000 }), RangeError);
    assert.throws(() => buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 0 }), RangeError);
  });
});

describe('parseWavHeader', () => {
  it('reads a header written by sox (no JUNK reserve)', async () => {
    const path = join(dir, 'sox-made.wav');
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', path, 'synth', '0.25', 'sine', '440']);
    const file = await readFile(path);
    const info = parsed(file, file.length);
    assert.equal(info.format, 'pcm16');
    assert.equal(info.sampleRate, 16000);
    assert.equal(info.frames, 4000);
    assert.equal(info.ds64Offset, undefined);
    assert.equal(info.sizesMatch, true);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE PCM as written by sox for 3 channels', async () => {
    const path = join(dir, 'sox-ext.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '3', '-b', '16', path, 'synth', '0.1', 'sine', '300']);
    const info = parsed(await readFile(path));
    assert.equal(info.format, 'pcm16');
    assert.equal(info.channels, 3);
    assert.equal(info.frames, 800);
  });

  it('skips LIST, fact and odd-sized chunks (with their pad byte) before data', () => {
    const base = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 4 });
    const list = Buffer.from('LIST\x05\x00\x00\x00INFOx\x00', 'latin1'); // 5 bytes + pad
    const fact = Buffer.from('fact\x04\x00\x00\x00\x02\x00\x00\x00', 'latin1');
    const header = Buffer.concat([base.subarray(0, 72), list, fact, base.subarray(72)]);
    header.writeUInt32LE(header.length - 8 + 4, 4);
    const info = parsed(Buffer.concat([header, Buffer.alloc(4)]), header.length + 4);
    assert.equal(info.dataOffset, header.length);
    assert.equal(info.dataBytes, 4);
    assert.equal(info.factOffset, 72 + list.length);
    assert.equal(info.sizesMatch, true);
  });

  it('reports sizes that do not match the file length', () => {
    const header = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 1000 });
    assert.equal(parsed(header, header.length + 999).sizesMatch, false, 'file shorter than declared');
    assert.equal(parsed(header, header.length + 1002).sizesMatch, false, 'file longer than declared');
    assert.equal(parsed(header).sizesMatch, undefined, 'no file size given');
    const odd = buildWavHeader({ format: 'pcm16', channels: 1, sampleRate: 8000, dataBytes: 999 });
    assert.equal(parsed(odd, odd.length + 1000).sizesMatch, false, 'partial frame declared');
  });

  it('rejects what it cannot use with RECORDING_FORMAT, flagging headers that were cut short', async () => {
    const good = buildWavHeader({ format: 'alaw', channels: 1, sampleRate: 8000 });
    const notWav = parseWavHeader(Buffer.from('ID3\x04 this is an mp3 file.....'));
    assert.ok(!notWav.ok);
    assert.equal(notWav.error.code, 'RECORDING_FORMAT');
    assert.equal(notWav.truncated, false);
    for (const cut of [0, 11, 20, 60, good.length - 1]) {
      const short = parseWavHeader(good.subarray(0, cut));
      assert.ok(!short.ok && short.truncated, `cut at ${cut}`);
    }
    const path = join(dir, 'pcm24.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '24', path, 'synth', '0.01', 'sine', '300']);
    const pcm24 = parseWavHeader(await readFile(path));
    assert.ok(!pcm24.ok);
    assert.match(pcm24.error.message, /unsupported format/);
    const noDs64 = Buffer.from(good);
    noDs64.write('RF64', 0, 'latin1'); // RF64 magic, but the reserve still says JUNK
    const rf64 = parseWavHeader(noDs64);
    assert.ok(!rf64.ok);
    assert.match(rf64.error.message, /ds64/);
  });

  it('never throws on random or corrupted input', () => {
    const header = buildWavHeader({ format: 'mulaw', channels: 2, sampleRate: 8000, dataBytes: 100, rf64: true });
    for (let i = 0; i < 2000; i++) {
      const buf = i % 2 === 0 ? randomBytes(i % 120) : Buffer.from(header);
      if (i % 2 === 1) for (let k = 0; k < 4; k++) buf[(i * 7 + k * 13) % buf.length] = (i * k) & 0xff;
      const result = parseWavHeader(buf, i);
      if (!result.ok) assert.equal(result.error.code, 'RECORDING_FORMAT');
    }
  });
});
