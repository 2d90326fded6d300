/**
 * WavWriter on a disk slower than the audio (issue "Reliability": a recorder that falls behind
 * alarms rather than blocking the relay): `onBacklog` once per episode (pending bytes or a slow
 * write), the caller never blocked, memory capped by dropping the oldest waiting batch as silence
 * (timeline kept, the span reported), and the shared batch pool and patch timer.
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRecordingMetadata } from '../../../src/recorder/metadata.js';
import { parseWavHeader } from '../../../src/recorder/wav-format.js';
import { WavWriter, type WavBacklog, type WavWriterOptions } from '../../../src/recorder/wav-writer.js';
import { sharedTimerCount } from '../../../src/recorder/wav-writer-clock.js';
import { BatchPool } from '../../../src/recorder/wav-writer-pool.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-wav-backlog-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
const next = (name: string): string => join(dir, `${counter++}-${name}`);

/** A real file whose writes each wait `disk.delayMs` first: a disk slower than the audio. */
function slowDisk(disk: { delayMs: number }): (path: string) => Promise<FileHandle> {
  return async (path) => {
    const handle = await open(path, 'wx', 0o640);
    return new Proxy(handle, {
      get(target, property) {
        if (property === 'write') {
          return async (...args: Parameters<FileHandle['write']>) => {
            if (disk.delayMs > 0) await sleep(disk.delayMs);
            return target.write(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
}

async function dataOf(path: string): Promise<Buffer> {
  const file = await readFile(path);
  const parsed = parseWavHeader(file, file.length);
  assert.ok(parsed.ok);
  return file.subarray(parsed.info.dataOffset, parsed.info.dataOffset + parsed.info.dataBytes);
}

/** 8 kHz mono PCM16: 16 bytes per ms; packets of 20 ms. */
const BYTES_PER_MS = 16;
const FRAMES = 160;

function options(extra: Partial<WavWriterOptions>): WavWriterOptions {
  return { format: 'pcm16', channels: 1, sampleRate: 8000, patchIntervalMs: 3_600_000, ...extra };
}

describe('WavWriter backlog', () => {
  it('alarms once, never blocks, and past the cap drops the oldest batches as silence, keeping the timeline', async () => {
    const path = next('slow.wav');
    const backlogs: WavBacklog[] = [];
    const writer = await WavWriter.open(
      path,
      options({
        batchBytes: 1600, // 100 ms per write; each takes 200 ms: the disk runs at half the audio's speed
        maxPendingBytes: 8000,
        backlogAlarmBytes: 4000,
        createFile: slowDisk({ delayMs: 200 }),
        onBacklog: (backlog) => backlogs.push(backlog),
      }),
    );
    const packets = 200; // 4 s of audio, fed 20 ms per 2 ms
    let slowestCallMs = 0;
    let maxHeld = 0;
    for (let n = 0; n < packets; n++) {
      const pcm = new Int16Array(FRAMES).fill(n + 1);
      const started = performance.now();
      writer.writeSamples(pcm, 0, FRAMES);
      slowestCallMs = Math.max(slowestCallMs, performance.now() - started);
      maxHeld = Math.max(maxHeld, writer.heldBytes);
      await sleep(2);
    }
    assert.ok(slowestCallMs < 100, `a write call took ${slowestCallMs} ms`);
    assert.ok(maxHeld <= 8000 + 1600, `held ${maxHeld} bytes past the cap`);
    assert.equal(backlogs.length, 1, 'one alarm for the episode');
    assert.equal(backlogs[0]?.reason, 'pending');
    assert.equal(backlogs[0]?.path, path);
    assert.ok((backlogs[0]?.pendingBytes ?? 0) > 4000);
    assert.ok(writer.droppedBytes > 0, 'the disk could not keep up');

    const summary = await writer.close();
    assert.equal(summary.frames, packets * FRAMES, 'dropped audio became silence of the same length');
    assert.equal(summary.droppedBytes, writer.droppedBytes);
    assert.equal(summary.backlogEpisodes, 1);
    const spans = summary.droppedSpans ?? [];
    assert.ok(spans.length > 0);
    const spanMs = spans.reduce((sum, span) => sum + span.endMs - span.startMs, 0);
    assert.equal(spanMs * BYTES_PER_MS, summary.droppedBytes, 'the spans cover exactly the dropped bytes');
    assert.ok(spans.every((span) => span.reason === 'recorder-backlog'));

    const data = await dataOf(path);
    const sampleAt = (ms: number): number => data.readInt16LE(Math.floor(ms * BYTES_PER_MS) & ~1);
    const inSpan = (ms: number): boolean => spans.some((span) => ms >= span.startMs && ms < span.endMs);
    for (let ms = 0; ms < packets * 20; ms += 5) {
      const expected = inSpan(ms) ? 0 : Math.floor(ms / 20) + 1;
      assert.equal(sampleAt(ms), expected, `sample at ${ms} ms`);
    }
    assert.equal(sampleAt(0), 1, 'the batch being written when the backlog began is kept');
    assert.equal(sampleAt(packets * 20 - 1), packets, 'the newest audio is kept');
  });

  it('raises a slow-write backlog while a write is still running', async () => {
    const path = next('stuck.wav');
    const backlogs: Array<{ backlog: WavBacklog; onDisk: number }> = [];
    const writer: WavWriter = await WavWriter.open(
      path,
      options({
        batchBytes: 320,
        patchIntervalMs: 50, // the shared clock looks every 5 ms
        slowWriteMs: 100,
        createFile: slowDisk({ delayMs: 400 }),
        onBacklog: (backlog) => backlogs.push({ backlog, onDisk: writer.bytesWritten }),
      }),
    );
    writer.writeSamples(new Int16Array(FRAMES).fill(7), 0, FRAMES); // one full batch: the write starts
    for (let i = 0; i < 100 && backlogs.length === 0; i++) await sleep(10);
    assert.equal(backlogs.length, 1);
    assert.equal(backlogs[0]?.backlog.reason, 'slow-write');
    assert.equal(backlogs[0]?.onDisk, 0, 'raised before the write finished');
    assert.ok((backlogs[0]?.backlog.writeMs ?? 0) >= 100);
    await writer.close();
  });

  it('starts a new episode only after the backlog has cleared', async () => {
    const disk = { delayMs: 100 };
    const backlogs: WavBacklog[] = [];
    const writer = await WavWriter.open(
      next('episodes.wav'),
      options({
        batchBytes: 320,
        backlogAlarmBytes: 1280,
        createFile: slowDisk(disk),
        onBacklog: (backlog) => backlogs.push(backlog),
      }),
    );
    const burst = (): void => {
      for (let n = 0; n < 20; n++) writer.writeSamples(new Int16Array(FRAMES).fill(n), 0, FRAMES);
    };
    burst();
    burst();
    assert.equal(backlogs.length, 1, 'still the first episode');
    disk.delayMs = 0;
    await writer.flush();
    for (let n = 0; n < 20; n++) {
      writer.writeSamples(new Int16Array(FRAMES).fill(n), 0, FRAMES);
      await writer.flush(); // the disk keeps up: never more than one batch waits
    }
    await writer.flush();
    assert.equal(backlogs.length, 1);
    disk.delayMs = 100;
    burst();
    assert.equal(backlogs.length, 2, 'a second episode');
    const summary = await writer.close();
    assert.equal(summary.backlogEpisodes, 2);
    assert.equal(summary.droppedBytes, 0, 'under the 1 MiB default cap nothing was dropped');
  });

  it('isolates a throwing backlog listener', async () => {
    const path = next('throwing.wav');
    const writer = await WavWriter.open(
      path,
      options({
        batchBytes: 320,
        backlogAlarmBytes: 640,
        createFile: slowDisk({ delayMs: 50 }),
        onBacklog: () => {
          throw new Error('listener bug');
        },
      }),
    );
    for (let n = 0; n < 10; n++) writer.writeSamples(new Int16Array(FRAMES).fill(3), 0, FRAMES);
    const summary = await writer.close();
    assert.equal(summary.frames, 10 * FRAMES);
    assert.equal(summary.backlogEpisodes, 1);
  });

  it('reports the dropped spans in the metadata as a completeness problem', () => {
    const metadata = buildRecordingMetadata({
      call: {
        id: 'r1',
        direction: 'inbound',
        callIdCaller: 'a',
        callIdCallee: 'b',
        caller: { number: null, raw: null, name: null },
        callee: { number: null, raw: null, name: null },
        profile: 'p',
        decisionReason: 'test',
        startedAt: new Date(0),
        answeredAt: new Date(0),
        endedAt: new Date(4000),
        endReason: 'bye',
        endedBy: 'caller',
        finalStatus: 200,
      },
      recording: {
        id: 'r1',
        dir: dir,
        channels: 'caller',
        durationMs: 4000,
        legs: [
          {
            party: 'caller',
            file: 'r1.wav',
            error: undefined,
            stats: {
              packetsReceived: 200,
              packetsExpected: 200,
              packetsLost: 0,
              packetsLate: 0,
              packetsDuplicate: 0,
              ssrcChanges: 0,
              sequenceRestarts: 0,
              resyncs: 0,
              framesDropped: 0,
              telephoneEvents: 0,
              cnPackets: 0,
              undecodablePackets: 0,
              errors: 0,
              holdSpans: [],
              pauseSpans: [],
              firstPacketMs: 0,
              lastPacketMs: 3980,
              sampleRate: 8000,
              samplesWritten: 32000,
              durationMs: 4000,
            },
            wav: {
              path: join(dir, 'r1.wav'),
              format: 'pcm16',
              channels: 1,
              sampleRate: 8000,
              container: 'RIFF',
              frames: 32000,
              dataBytes: 64000,
              fileBytes: 64080,
              droppedBytes: 8000,
              droppedSpans: [{ startMs: 1000, endMs: 1500, reason: 'recorder-backlog' }],
              backlogEpisodes: 1,
              durationMs: 4000,
            },
          },
        ],
      },
      files: [],
      relay: {},
      formats: {},
    });
    const legs = metadata['legs'] as Array<{ droppedSpans?: unknown }>;
    assert.deepEqual(legs[0]?.droppedSpans, [{ startMs: 1000, endMs: 1500, reason: 'recorder-backlog' }]);
    const completeness = metadata['completeness'] as { complete: boolean; problems: string[] };
    assert.equal(completeness.complete, false);
    assert.ok(
      completeness.problems.some(
        (p) => p.includes('caller: 500 ms of audio dropped') && p.includes('recorder backlog'),
      ),
      completeness.problems.join('; '),
    );
  });
});

describe('WavWriter shared resources', () => {
  it('takes batch buffers from a shared pool only while it has audio, and gives them back on close', async () => {
    const pool = BatchPool.of(4000);
    const before = pool.inUse;
    const writers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => WavWriter.open(next(`pool-${i}.wav`), options({ batchBytes: 4000 }))),
    );
    assert.equal(pool.inUse, before, 'no buffer before the first audio');
    for (const writer of writers) writer.writeSamples(new Int16Array(FRAMES), 0, FRAMES);
    assert.equal(pool.inUse, before + 20, 'one batch per writer with audio');
    await Promise.all(writers.map((writer) => writer.close()));
    assert.equal(pool.inUse, before, 'all given back');
  });

  it('runs one timer for all open writers of the same patch interval', async () => {
    const timers = sharedTimerCount;
    const idle = timers();
    const writers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => WavWriter.open(next(`timer-${i}.wav`), options({ patchIntervalMs: 4321 }))),
    );
    assert.equal(timers() - idle, 1);
    await Promise.all(writers.map((writer) => writer.close()));
    assert.equal(timers(), idle, 'stopped with the last writer');
  });
});
