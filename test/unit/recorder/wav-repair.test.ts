/**
 * Crash recovery of WAV files (SPEC §2: "a crash loses seconds, not the call"): repairWavFile makes
 * the header describe the audio on disk — stale or zero sizes, a partial last frame, a missing pad
 * byte, RF64 kept or introduced past 4 GiB — and leaves consistent files alone. sox must read the
 * result with the expected duration.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../../src/errors.js';
import { parseWavHeader, type WavFormat } from '../../../src/recorder/wav-format.js';
import { repairWavFile } from '../../../src/recorder/wav-repair.js';
import { WavWriter } from '../../../src/recorder/wav-writer.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-wav-repair-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const next = (name: string): string => join(dir, `${counter++}-${name}`);
const soxi = (flag: string, path: string): string => execFileSync('soxi', [flag, path], { encoding: 'utf8' }).trim();

function tone(frames: number): Int16Array {
  const pcm = new Int16Array(frames);
  for (let i = 0; i < frames; i++) pcm[i] = Math.round(10000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return pcm;
}

/** Opens a writer that never patches on its own; the caller simulates the crash. */
async function openWriter(path: string, format: WavFormat = 'pcm16', extra = {}): Promise<WavWriter> {
  return WavWriter.open(path, { format, channels: 1, sampleRate: 8000, patchIntervalMs: 3_600_000, ...extra });
}

/** Polls `condition` (the disk is asynchronous) for up to 5 s. */
async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await sleep(10);
  assert.ok(await condition(), 'condition not reached within 5 s');
}

async function headerOf(path: string) {
  const file = await readFile(path);
  const result = parseWavHeader(file, file.length);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.info;
}

describe('repairWavFile', () => {
  it('rewrites the sizes of a file whose writer died before any patch (copied while open)', async () => {
    const live = next('live.wav');
    const writer = await openWriter(live, 'pcm16', { batchBytes: 4000 });
    const pcm = tone(8000);
    for (let i = 0; i < 8000; i += 160) writer.writeSamples(pcm, i, 160);
    await waitFor(() => writer.pendingBytes === 0); // data reached the file, header not patched
    const crashed = next('crashed.wav');
    await copyFile(live, crashed);
    await writer.close();
    assert.equal((await headerOf(crashed)).dataBytes, 0, 'the header still says empty');

    const { repaired, info } = await repairWavFile(crashed);
    assert.equal(repaired, true);
    assert.equal(info.dataBytes, 16000);
    assert.equal(info.sizesMatch, true);
    assert.deepEqual(await headerOf(crashed), info);
    assert.equal(soxi('-s', crashed), '8000');
    assert.equal(soxi('-D', crashed), '1.000000');
    assert.deepEqual(await readFile(crashed), await readFile(live), 'same bytes as the cleanly closed file');
  });

  it('cuts a trailing partial frame and fixes sizes that were patched earlier', async () => {
    const path = next('partial.wav');
    const writer = await openWriter(path, 'pcm16', { patchIntervalMs: 20 });
    writer.writeSamples(tone(4000), 0, 4000);
    await waitFor(async () => (await headerOf(path)).dataBytes === 8000); // patched at 4000 frames
    await writer.close();
    const handle = await open(path, 'a');
    await handle.write(Buffer.alloc(2001, 7)); // 1000 more frames and half a frame, never patched
    await handle.close();
    const before = await headerOf(path);
    assert.equal(before.dataBytes, 8000);
    assert.equal(before.sizesMatch, false);

    const { repaired, info } = await repairWavFile(path);
    assert.equal(repaired, true);
    assert.equal(info.frames, 5000);
    assert.equal((await stat(path)).size, info.dataOffset + 10000, 'the half frame is gone');
    assert.equal(soxi('-s', path), '5000');
  });

  it('repairs a file truncated in the middle of a frame (stereo)', async () => {
    const path = next('stereo-cut.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 2, sampleRate: 16000 });
    writer.writeSamples(new Int16Array(2 * 16000).fill(300), 0, 16000);
    await writer.close();
    const { dataOffset } = await headerOf(path);
    await truncate(path, dataOffset + 4 * 12345 + 3);

    const { repaired, info } = await repairWavFile(path);
    assert.equal(repaired, true);
    assert.equal(info.frames, 12345);
    assert.equal(soxi('-s', path), '12345');
    assert.equal(soxi('-c', path), '2');
  });

  it('adds the pad byte after odd-sized A-law data and patches the fact chunk', async () => {
    const live = next('alaw-live.wav');
    const writer = await openWriter(live, 'alaw');
    writer.writeEncoded(Buffer.alloc(4001, 0x55));
    await writer.flush();
    const crashed = next('alaw-crashed.wav');
    await copyFile(live, crashed);
    await writer.close();
    const file = await readFile(crashed); // as if the flush's header patch never happened:
    const { factOffset } = await headerOf(crashed);
    file.writeUInt32LE(0, 4);
    file.writeUInt32LE(0, factOffset! + 8);
    file.writeUInt32LE(0, file.indexOf('data') + 4);
    await writeFile(crashed, file);

    const { repaired, info } = await repairWavFile(crashed);
    assert.equal(repaired, true);
    assert.equal(info.dataBytes, 4001);
    assert.equal((await stat(crashed)).size, info.dataOffset + 4002);
    assert.ok(info.factOffset !== undefined);
    assert.equal((await readFile(crashed)).readUInt32LE(info.factOffset + 8), 4001);
    assert.equal(soxi('-s', crashed), '4001');
    assert.equal(soxi('-e', crashed), 'A-law');
  });

  it('keeps an RF64 file RF64 and fixes its ds64 sizes', async () => {
    const live = next('rf64-live.wav');
    const writer = await openWriter(live, 'pcm16', { rf64ThresholdBytes: 10_000, batchBytes: 2000 });
    writer.writeSamples(tone(8000), 0, 8000);
    await writer.flush(); // RF64 header for 16000 bytes
    writer.writeSamples(tone(8000), 0, 8000);
    await waitFor(() => writer.pendingBytes === 0); // 16000 more bytes, header not patched
    const crashed = next('rf64-crashed.wav');
    await copyFile(live, crashed);
    await writer.close();
    assert.equal((await headerOf(crashed)).dataBytes, 16000);

    const { repaired, info } = await repairWavFile(crashed);
    assert.equal(repaired, true);
    assert.equal(info.container, 'RF64');
    assert.deepEqual([info.dataBytes, info.riffSize], [32000, info.dataOffset - 8 + 32000]);
    assert.equal(soxi('-s', crashed), '16000');
  });

  it('converts a RIFF file to RF64 when the data on disk passed 4 GiB (sparse file)', async () => {
    const path = next('huge.wav');
    const writer = await openWriter(path);
    writer.writeSamples(tone(160), 0, 160);
    await writer.close();
    const size = 5 * 2 ** 30 + 1; // 5 GiB and a partial frame, without using the disk
    await truncate(path, size);

    const { repaired, info } = await repairWavFile(path);
    assert.equal(repaired, true);
    assert.equal(info.container, 'RF64');
    const dataBytes = size - 1 - info.dataOffset;
    assert.equal(info.dataBytes, dataBytes);
    assert.equal(info.riffSize, size - 1 - 8);
    assert.equal(info.sizesMatch, true);
    // sox reads a 5 GiB file through (minutes), so check the EBU Tech 3306 fields directly
    const head = Buffer.alloc(info.dataOffset);
    const handle = await open(path, 'r');
    await handle.read(head, 0, head.length, 0);
    await handle.close();
    assert.equal(head.toString('latin1', 0, 4), 'RF64');
    assert.equal(head.readUInt32LE(4), 0xffffffff);
    assert.equal(head.toString('latin1', 12, 16), 'ds64');
    assert.equal(head.readBigUInt64LE(20), BigInt(size - 1 - 8), 'ds64 riffSize');
    assert.equal(head.readBigUInt64LE(28), BigInt(dataBytes), 'ds64 dataSize');
    assert.equal(head.readBigUInt64LE(36), BigInt(dataBytes / 2), 'ds64 sampleCount');
    assert.equal(head.readUInt32LE(info.dataOffset - 4), 0xffffffff, 'data size: see ds64');
    await rm(path);
  });

  it('leaves a consistent file untouched', async () => {
    const path = next('fine.wav');
    const writer = await openWriter(path, 'mulaw');
    writer.writeEncoded(Buffer.alloc(999, 0x7f));
    await writer.close();
    const before = await readFile(path);
    const { repaired, info } = await repairWavFile(path);
    assert.equal(repaired, false);
    assert.equal(info.dataBytes, 999);
    assert.deepEqual(await readFile(path), before);
  });

  it('rejects a file that is not a WAV with RECORDING_FORMAT and a missing one with RECORDING_IO', async () => {
    const path = next('not.wav');
    await writeFile(path, 'hello, this is not audio at all');
    await assert.rejects(repairWavFile(path), { name: 'AppError', code: 'RECORDING_FORMAT' });
    assert.equal(await readFile(path, 'utf8'), 'hello, this is not audio at all');
    await assert.rejects(repairWavFile(next('missing.wav')), (error) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'RECORDING_IO');
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  });
});
