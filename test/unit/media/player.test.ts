/**
 * The announcement player. Requirements verified:
 *  - RFC 3550 §5.1: one SSRC per playback, sequence numbers +1 and timestamps + samples per packet
 *    (both wrapping), the marker bit only on the first packet (RFC 3551 §4.1, start of talkspurt);
 *  - 20 ms pacing against the start instant (a late timer does not shift later packets), a stall
 *    longer than the lag limit re-anchors instead of bursting, `done` after the last packet played;
 *  - stop() and failing sends; see player-clips.test.ts for the clips themselves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { playClip, type EncodedClip, type PlayerScheduler } from '../../../src/media/index.js';

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
    playClip({
      clip: clipOf(4, 160),
      payloadType: 0,
      send,
      scheduler,
      firstSequence: 65534,
      firstTimestamp: 0xffffff00,
    });
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
