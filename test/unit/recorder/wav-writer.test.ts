/**
 * WavWriter (SPEC §2): streams a WAV in constant memory, header patched every few seconds and at
 * close so a crash loses seconds, RF64 in place past a threshold (EBU Tech 3306), disk errors kept
 * off the caller's path (recorded once, reported by close() as RECORDING_IO), closed writers refuse
 * writes. Files are checked with sox 14.4.2 and parseWavHeader.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../../src/errors.js';
import { parseWavHeader } from '../../../src/recorder/wav-format.js';
import { WavWriter } from '../../../src/recorder/wav-writer.js';
import { skipOutsideCi } from '../../support/skip.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-wav-writer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const next = (name: string): string => join(dir, `${counter++}-${name}`);
const soxi = (flag: string, path: string): string => execFileSync('soxi', [flag, path], { encoding: 'utf8' }).trim();

/** Polls `condition` (the disk is asynchronous) for up to 5 s. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await sleep(10);
  assert.ok(await condition(), 'condition not reached within 5 s');
}

async function headerOnDisk(path: string) {
  const file = await readFile(path);
  const result = parseWavHeader(file, file.length);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return {
    info: result.info,
    data: file.subarray(result.info.dataOffset, result.info.dataOffset + result.info.dataBytes),
  };
}

function ramp(samples: number, seed = 0): Int16Array {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = ((i * 37 + seed) % 65536) - 32768;
  return pcm;
}

function le(pcm: Int16Array): Buffer {
  const out = Buffer.alloc(pcm.length * 2);
  pcm.forEach((v, i) => out.writeInt16LE(v, i * 2));
  return out;
}

describe('WavWriter', () => {
  it('writes PCM16 mono 8 kHz in 20 ms packets that sox reads back sample for sample', async () => {
    const path = next('mono.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: 8000, batchBytes: 1000 });
    const pcm = ramp(8000);
    for (let i = 0; i < 8000; i += 160) writer.writeSamples(pcm, i, 160);
    const summary = await writer.close();
    assert.deepEqual(
      {
        container: summary.container,
        frames: summary.frames,
        dataBytes: summary.dataBytes,
        durationMs: summary.durationMs,
      },
      { container: 'RIFF', frames: 8000, dataBytes: 16000, durationMs: 1000 },
    );
    assert.equal(summary.fileBytes, (await stat(path)).size);
    assert.equal((await stat(path)).mode & 0o777, 0o640 & ~process.umask());
    assert.equal(soxi('-r', path), '8000');
    assert.equal(soxi('-c', path), '1');
    assert.equal(soxi('-s', path), '8000');
    assert.deepEqual(execFileSync('sox', [path, '-t', 's16', '-']), le(pcm));
    const { info } = await headerOnDisk(path);
    assert.equal(info.sizesMatch, true);
    assert.equal(writer.framesWritten, 8000);
    assert.equal(writer.bytesWritten, 16000);
    assert.equal(writer.pendingBytes, 0);
  });

  it('writes interleaved stereo 16 kHz frames', async () => {
    const path = next('stereo.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 2, sampleRate: 16000 });
    const pcm = ramp(2 * 16000, 5);
    for (let i = 0; i < 16000; i += 320) writer.writeSamples(pcm, 2 * i, 320);
    const summary = await writer.close();
    assert.equal(summary.frames, 16000);
    assert.equal(soxi('-c', path), '2');
    assert.equal(soxi('-r', path), '16000');
    assert.equal(soxi('-D', path), '1.000000');
    assert.deepEqual(execFileSync('sox', [path, '-t', 's16', '-']), le(pcm));
  });

  it('passes A-law bytes through and pads odd-sized data with one byte', async () => {
    const path = next('alaw.wav');
    const writer = await WavWriter.open(path, { format: 'alaw', channels: 1, sampleRate: 8000, batchBytes: 64 });
    const bytes = Buffer.alloc(1001);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 11) & 0xff;
    writer.writeEncoded(bytes, 0, 500);
    writer.writeEncoded(new Uint8Array(bytes.subarray(500)));
    const summary = await writer.close();
    assert.equal(summary.dataBytes, 1001);
    assert.equal((await stat(path)).size, 94 + 1002, 'RIFF pad byte after odd data');
    assert.equal(soxi('-e', path), 'A-law');
    assert.equal(soxi('-s', path), '1001');
    assert.deepEqual(execFileSync('sox', [path, '-t', 'al', '-']), bytes);
    assert.equal((await headerOnDisk(path)).info.sizesMatch, true);
  });

  it('writes long silence from one block, in order with the samples around it', async () => {
    const path = next('silence.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: 16000, batchBytes: 4096 });
    const pcm = ramp(100, 1);
    const before = process.memoryUsage().arrayBuffers;
    writer.writeSamples(pcm, 0, 100);
    writer.writeSilence(60 * 16000); // one minute on hold: 1.9 MB of zeros
    const during = process.memoryUsage().arrayBuffers;
    writer.writeSamples(pcm, 0, 100);
    writer.writeSilence(3);
    const summary = await writer.close();
    assert.ok(during - before < 256 * 1024, `silence allocated ${during - before} bytes`);
    assert.equal(summary.frames, 200 + 60 * 16000 + 3);
    const { data } = await headerOnDisk(path);
    assert.deepEqual(data.subarray(0, 200), le(pcm));
    assert.equal(
      data.subarray(200, 200 + 60 * 32000).some((b) => b !== 0),
      false,
    );
    assert.deepEqual(data.subarray(200 + 60 * 32000, 400 + 60 * 32000), le(pcm));
    assert.equal(soxi('-s', path), String(summary.frames));
  });

  it('writes G.711 silence as the codec silent byte', async () => {
    const path = next('mulaw-silence.wav');
    const writer = await WavWriter.open(path, { format: 'mulaw', channels: 2, sampleRate: 8000, batchBytes: 8 });
    writer.writeSilence(13);
    await writer.close();
    const { data } = await headerOnDisk(path);
    assert.deepEqual(data, Buffer.alloc(26, 0xff));
  });

  it('patches the header periodically, only with data that reached the file', async () => {
    const path = next('patched.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: 8000, patchIntervalMs: 30 });
    const pcm = ramp(4000);
    writer.writeSamples(pcm, 0, 4000); // 8000 bytes: stays in the 32 KiB batch until the timer
    assert.equal((await headerOnDisk(path)).info.dataBytes, 0);
    await waitFor(async () => (await headerOnDisk(path)).info.dataBytes > 0); // no flush(): the timer's patch
    const first = await headerOnDisk(path);
    let info = first.info;
    assert.equal(info.dataBytes, 8000);
    assert.equal(info.sizesMatch, true);
    assert.deepEqual(first.data, le(pcm));
    assert.equal(soxi('-s', path), '4000', 'readable while still open');
    writer.writeSamples(pcm, 0, 4000);
    await waitFor(async () => (await headerOnDisk(path)).info.dataBytes > 8000);
    ({ info } = await headerOnDisk(path));
    assert.equal(info.dataBytes, 16000);
    assert.equal(info.sizesMatch, true);
    await writer.close();
  });

  it('converts the header to RF64 in place when the data passes the threshold', async () => {
    const path = next('rf64.wav');
    const writer = await WavWriter.open(path, {
      format: 'pcm16',
      channels: 1,
      sampleRate: 8000,
      rf64ThresholdBytes: 10_000,
      batchBytes: 2048,
    });
    const pcm = ramp(8000, 3);
    for (let i = 0; i < 4000; i += 160) writer.writeSamples(pcm, i, 160);
    await writer.flush();
    assert.equal((await headerOnDisk(path)).info.container, 'RIFF', '8000 bytes: below the threshold');
    for (let i = 4000; i < 8000; i += 160) writer.writeSamples(pcm, i, 160);
    await writer.flush();
    const open = await headerOnDisk(path);
    assert.equal(open.info.container, 'RF64', 'converted while still open');
    assert.equal(open.info.dataBytes, 16000);
    const summary = await writer.close();
    assert.equal(summary.container, 'RF64');
    const { info, data } = await headerOnDisk(path);
    const file = await readFile(path);
    assert.equal(file.toString('latin1', 0, 4), 'RF64');
    assert.equal(file.toString('latin1', 12, 16), 'ds64');
    assert.equal(file.readUInt32LE(4), 0xffffffff);
    assert.deepEqual([info.riffSize, info.dataBytes, info.frames], [file.length - 8, 16000, 8000]);
    assert.equal(info.sizesMatch, true);
    assert.deepEqual(data, le(pcm));
    assert.equal(soxi('-s', path), '8000');
    assert.deepEqual(execFileSync('sox', [path, '-t', 's16', '-']), le(pcm));
  });

  it('keeps the backlog bounded while writing 10 minutes of 16 kHz audio in 20 ms packets', async () => {
    const path = next('ten-minutes.wav');
    // 4 MiB, not the 1 MiB default: the loop feeds audio ~1000 times faster than real time
    const writer = await WavWriter.open(path, {
      format: 'pcm16',
      channels: 1,
      sampleRate: 16000,
      maxPendingBytes: 4 << 20,
    });
    const packet = ramp(320, 9);
    const startBuffers = process.memoryUsage().arrayBuffers;
    let maxPending = 0;
    let maxBuffers = 0;
    for (let n = 0; n < 30_000; n++) {
      writer.writeSamples(packet, 0, 320);
      maxPending = Math.max(maxPending, writer.pendingBytes);
      if (n % 50 === 49) {
        await sleep(1); // one second of audio per turn of the event loop
        maxBuffers = Math.max(maxBuffers, process.memoryUsage().arrayBuffers - startBuffers);
      }
    }
    const summary = await writer.close();
    // 19.2 MB pass through; the backlog stays under the 4 MiB bound and is flushed away
    assert.ok(maxPending <= 4 << 20, `backlog reached ${maxPending} bytes`);
    assert.ok(maxBuffers < 6 << 20, `buffers grew by ${maxBuffers} bytes`);
    assert.equal(writer.pendingBytes, 0);
    assert.equal(summary.droppedBytes, 0);
    assert.equal(summary.frames, 600 * 16000);
    assert.equal(soxi('-D', path), '600.000000');
  });

  it('drops audio past maxPendingBytes but writes silence in its place, keeping the duration', async () => {
    const path = next('overflow.wav');
    const writer = await WavWriter.open(path, {
      format: 'pcm16',
      channels: 1,
      sampleRate: 8000,
      batchBytes: 1024,
      maxPendingBytes: 2048,
    });
    const packet = ramp(160, 2).fill(1000);
    for (let n = 0; n < 100; n++) writer.writeSamples(packet, 0, 160); // no turn of the event loop
    assert.ok(writer.droppedBytes > 0);
    assert.ok(writer.pendingBytes <= 32_000);
    const summary = await writer.close();
    assert.equal(summary.frames, 16_000, 'timeline kept');
    assert.equal(summary.droppedBytes, writer.droppedBytes);
    const { data } = await headerOnDisk(path);
    assert.equal(data.readInt16LE(0), 1000, 'the first batches were kept');
    let zeros = 0;
    for (let i = 0; i < data.length; i += 2) if (data.readInt16LE(i) === 0) zeros += 2;
    assert.equal(zeros, summary.droppedBytes, 'every dropped byte became silence');
  });

  it('refuses writes after close, and close is idempotent', async () => {
    const path = next('closed.wav');
    const writer = await WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: 8000 });
    writer.writeSamples(ramp(160), 0, 160);
    const first = writer.close();
    assert.equal(writer.close(), first);
    assert.deepEqual(await writer.close(), await first);
    const closed = { name: 'AppError', code: 'RECORDING_CLOSED' };
    assert.throws(() => writer.writeSamples(ramp(160), 0, 160), closed);
    assert.throws(() => writer.writeSilence(10), closed);
    assert.throws(() => writer.writeEncoded(Buffer.alloc(2)), closed);
    await assert.rejects(writer.flush(), closed);
    assert.equal((await headerOnDisk(path)).info.frames, 160);
  });

  it('refuses to replace an existing file, leaving it untouched', async () => {
    const path = next('exists.wav');
    await writeFile(path, 'precious');
    await assert.rejects(WavWriter.open(path, { format: 'pcm16', channels: 1, sampleRate: 8000 }), (error) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'RECORDING_IO');
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'EEXIST');
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), 'precious');
  });

  it('rejects samples of the wrong kind as a programming error', async () => {
    const writer = await WavWriter.open(next('kind.wav'), { format: 'alaw', channels: 2, sampleRate: 8000 });
    assert.throws(() => writer.writeSamples(ramp(2), 0, 1), /alaw, not pcm16/);
    assert.throws(() => writer.writeEncoded(Buffer.alloc(3)), RangeError);
    await writer.close();
  });
});

describe('WavWriter on a failing disk', () => {
  // Runs in a child so the file-size limit or the private tmpfs applies to it alone.
  const writerUrl = new URL('../../../src/recorder/wav-writer.js', import.meta.url).href;
  const script = `
    process.on('SIGXFSZ', () => {}); // let write() fail with EFBIG instead of being killed
    const { WavWriter } = await import(${JSON.stringify(writerUrl)});
    const errors = [];
    const w = await WavWriter.open(process.argv[1], { format: 'pcm16', channels: 1, sampleRate: 8000,
      batchBytes: 4096, onError: (e) => errors.push(e.code) });
    const pcm = new Int16Array(160).fill(1000);
    let threw = false;
    try {
      for (let i = 0; i < 400; i++) { // 128 000 bytes into 64 KiB of room
        w.writeSamples(pcm, 0, 160);
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
    } catch { threw = true; }
    await new Promise((r) => setTimeout(r, 50));
    const failed = w.failed;
    let close;
    try { await w.close(); } catch (e) { close = { code: e.code, retriable: e.retriable, cause: e.cause?.code }; }
    let after;
    try { w.writeSamples(pcm, 0, 160); } catch (e) { after = e.code; }
    console.log(JSON.stringify({ threw, errors, failed, close, after, dropped: w.droppedBytes,
      written: w.bytesWritten, pending: w.pendingBytes }));`;

  function check(stdout: string, cause: string): void {
    const r = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(r.threw, false, 'writeSamples never throws the disk error');
    assert.deepEqual(r.errors, ['RECORDING_IO'], 'onError called once');
    assert.equal(r.failed, true);
    assert.deepEqual(r.close, { code: 'RECORDING_IO', retriable: false, cause });
    assert.equal(r.after, 'RECORDING_CLOSED');
    assert.equal(r.pending, 0);
    assert.equal((r.dropped as number) + (r.written as number), 128_000, 'every byte written or counted dropped');
    assert.ok((r.dropped as number) > 0);
  }

  it('survives EFBIG (file size limit): no throw, onError once, close rejects RECORDING_IO', async () => {
    const path = next('efbig.wav');
    const child = spawnSync(
      'bash',
      ['-c', 'ulimit -f 64 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, path],
      { encoding: 'utf8' },
    );
    assert.equal(child.status, 0, child.stderr);
    check(child.stdout, 'EFBIG');
    const file = await readFile(path);
    const result = parseWavHeader(file, file.length);
    assert.ok(result.ok && result.info.sizesMatch, 'close still patched the header for the data on disk');
  });

  it('survives ENOSPC on a full tmpfs: no throw, onError once, close rejects RECORDING_IO', async (t) => {
    const mount = next('tmpfs');
    await mkdir(mount);
    const child = spawnSync(
      'unshare',
      [
        '-rm',
        'sh',
        '-c',
        'mount -t tmpfs -o size=64k none "$1" || exit 77; exec "$0" --input-type=module -e "$2" "$1/x.wav"',
        process.execPath,
        mount,
        script,
      ],
      { encoding: 'utf8' },
    );
    if (child.error !== undefined || child.status === 77 || (child.status !== 0 && /unshare/.test(child.stderr))) {
      t.skip(skipOutsideCi(`no private tmpfs here (${child.error?.message ?? child.stderr.trim()})`));
      return;
    }
    assert.equal(child.status, 0, child.stderr);
    check(child.stdout, 'ENOSPC');
  });
});
