/**
 * The alarm handler the composition root gives everything that raises alarms (`spool-reserve`,
 * `recording-failed`): every raise is counted (the metric), the log gets one line per alarm and
 * interval with the number left out, so a failing disk cannot flood it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAlarmHandler } from '../../../src/cli/alarms.js';
import { createLogger } from '../../../src/observability/index.js';

function harness(intervalMs = 60_000) {
  let now = 0;
  const lines: Array<Record<string, unknown>> = [];
  const counted: string[] = [];
  const raise = createAlarmHandler({
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    }),
    count: (name) => counted.push(name),
    intervalMs,
    now: () => now,
  });
  return { raise, lines, counted, advance: (ms: number) => (now += ms) };
}

describe('createAlarmHandler', () => {
  it('logs "alarm: <name>" with the details; recording-failed at error, others at warn', () => {
    const bed = harness();
    bed.raise('recording-failed', { recording: 'r1', party: 'caller', error: 'ENOSPC' });
    bed.raise('spool-reserve', { freeMiB: 3, reserveMiB: 4 });
    assert.deepEqual(
      bed.lines.map((line) => [line['level'], line['msg'], line['alarm'], line['suppressed']]),
      [
        ['error', 'alarm: recording-failed', 'recording-failed', 0],
        ['warn', 'alarm: spool-reserve', 'spool-reserve', 0],
      ],
    );
    assert.equal(bed.lines[0]?.['recording'], 'r1');
    assert.equal(bed.lines[1]?.['freeMiB'], 3);
  });

  it('logs one line per alarm and interval, counts every raise, and tells how many were left out', () => {
    const bed = harness(1000);
    for (let i = 0; i < 50; i++) bed.raise('recording-failed', { recording: `r${i}` });
    assert.equal(bed.lines.length, 1);
    assert.equal(bed.counted.length, 50);
    bed.advance(999);
    bed.raise('recording-failed', { recording: 'late' });
    assert.equal(bed.lines.length, 1);
    bed.advance(1);
    bed.raise('recording-failed', { recording: 'next' });
    assert.equal(bed.lines.length, 2);
    assert.equal(bed.lines[1]?.['suppressed'], 50);
    assert.equal(bed.lines[1]?.['recording'], 'next');
  });

  it('limits each alarm on its own', () => {
    const bed = harness();
    bed.raise('spool-reserve', {});
    bed.raise('recording-failed', {});
    bed.raise('spool-reserve', {});
    assert.deepEqual(
      bed.lines.map((line) => line['alarm']),
      ['spool-reserve', 'recording-failed'],
    );
  });

  it('still logs when the metric throws', () => {
    const lines: Array<Record<string, unknown>> = [];
    const raise = createAlarmHandler({
      logger: createLogger({
        level: 'info',
        destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
      }),
      count: () => {
        throw new Error('registry gone');
      },
    });
    raise('spool-reserve', {});
    assert.deepEqual(
      lines.map((line) => line['msg']),
      ['alarm metric failed', 'alarm: spool-reserve'],
    );
  });
});
