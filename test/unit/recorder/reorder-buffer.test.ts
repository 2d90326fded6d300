/**
 * ReorderBuffer memory (issue "Media anchoring": RSS per recorded call): payload slots are sized by
 * the payloads that arrive, not by `maxPayloadBytes`, and grow in place when a codec with larger
 * frames arrives, keeping every held payload; payloads over the limit are still refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReorderBuffer } from '../../../src/recorder/reorder-buffer.js';
import { rtp } from './recorder-fakes.js';

function playAll(buffer: ReorderBuffer): Array<{ seq: number; payload: number[] }> {
  const out: Array<{ seq: number; payload: number[] }> = [];
  for (let slot = buffer.nextPlayable(1e9, true); slot >= 0; slot = buffer.nextPlayable(1e9, true)) {
    out.push({ seq: (buffer.seq[slot] ?? 0) % 65536, payload: [...buffer.payload(slot)] });
  }
  return out;
}

describe('ReorderBuffer payload slots', () => {
  it('keeps held payloads intact when a larger payload makes the slots grow', () => {
    const buffer = new ReorderBuffer({ capacity: 8, maxPayloadBytes: 1500, windowMs: 60 });
    buffer.insert(rtp(1, 0, 0, { bytes: 20, fill: 1 }));
    buffer.insert(rtp(3, 320, 0, { bytes: 20, fill: 3 })); // 2 missing: 1 and 3 are held
    buffer.insert(rtp(2, 160, 0, { bytes: 600, fill: 2 })); // larger: the slots grow
    buffer.insert(rtp(4, 480, 0, { bytes: 7, fill: 4 }));
    const played = playAll(buffer);
    assert.deepEqual(
      played.map((p) => [p.seq, p.payload.length, p.payload.every((b) => b === p.seq)]),
      [
        [1, 20, true],
        [2, 600, true],
        [3, 20, true],
        [4, 7, true],
      ],
    );
  });

  it('refuses a payload above maxPayloadBytes (length -1) and keeps its neighbours', () => {
    const buffer = new ReorderBuffer({ capacity: 4, maxPayloadBytes: 100, windowMs: 60 });
    buffer.insert(rtp(1, 0, 0, { bytes: 80, fill: 1 }));
    buffer.insert(rtp(2, 160, 0, { bytes: 101, fill: 2 }));
    buffer.insert(rtp(3, 320, 0, { bytes: 100, fill: 3 }));
    const slots: number[] = [];
    for (let slot = buffer.nextPlayable(1e9, true); slot >= 0; slot = buffer.nextPlayable(1e9, true)) {
      slots.push(buffer.length[slot] ?? NaN);
      if (buffer.length[slot] !== -1)
        assert.ok(buffer.payload(slot).every((b) => b === (buffer.seq[slot] ?? 0) % 65536));
    }
    assert.deepEqual(slots, [80, -1, 100]);
  });

  it('keeps a probation packet across a growth and plays it after a sequence restart', () => {
    const buffer = new ReorderBuffer({ capacity: 8, maxPayloadBytes: 1500, windowMs: 60 });
    buffer.insert(rtp(100, 0, 0, { bytes: 10, fill: 7 }));
    assert.equal(buffer.insert(rtp(40_000, 0, 20, { bytes: 10, fill: 9 })), 'probation');
    buffer.insert(rtp(101, 160, 20, { bytes: 400, fill: 8 })); // grows while the probation slot holds a payload
    assert.equal(buffer.insert(rtp(40_001, 160, 40, { bytes: 10, fill: 9 })), 'restart');
    assert.deepEqual(
      playAll(buffer).map((p) => p.seq),
      [100, 101],
    );
    buffer.restartFromProbation();
    buffer.insert(rtp(40_001, 160, 40, { bytes: 10, fill: 9 }));
    const after = playAll(buffer);
    assert.deepEqual(
      after.map((p) => [p.seq, p.payload.length, p.payload[0]]),
      [
        [40_000, 10, 9],
        [40_001, 10, 9],
      ],
    );
  });
});
