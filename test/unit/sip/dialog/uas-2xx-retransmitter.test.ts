import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Uas2xxRetransmitter } from '../../../../src/sip/dialog/index.js';
import { FakeClock } from '../../../../src/sip/transaction/index.js';

function setup(timers?: { t1Ms?: number; t2Ms?: number }) {
  const clock = new FakeClock();
  const times: number[] = [];
  const noAck: number[] = [];
  const errors: unknown[] = [];
  let failAt = -1;
  const retransmitter = new Uas2xxRetransmitter({
    clock,
    ...(timers === undefined ? {} : { timers }),
    retransmit: () => {
      times.push(clock.now());
      if (clock.now() === failAt) throw new Error('send failed');
    },
    onNoAck: () => noAck.push(clock.now()),
    onError: (error) => errors.push(error),
  });
  return { clock, times, noAck, errors, retransmitter, failAt: (t: number) => (failAt = t) };
}

describe('Uas2xxRetransmitter', () => {
  it('does nothing before start()', () => {
    const { clock, times, retransmitter } = setup();
    clock.advance(60_000);
    assert.deepEqual(times, []);
    assert.equal(retransmitter.state, 'idle');
  });

  it('scales with T1 = 100 ms and T2 = 400 ms and gives up at 6.4 s', () => {
    const { clock, times, noAck, retransmitter } = setup({ t1Ms: 100, t2Ms: 400 });
    retransmitter.start();
    clock.advance(10_000);
    assert.deepEqual(times.slice(0, 5), [100, 300, 700, 1100, 1500]);
    assert.equal(times.at(-1), 6300);
    assert.deepEqual(noAck, [6400]);
    assert.equal(retransmitter.retransmissions, times.length);
  });

  it('keeps retransmitting when one retransmission throws, reporting the exception', () => {
    const { clock, times, errors, retransmitter, failAt } = setup();
    failAt(1500);
    retransmitter.start();
    clock.advance(4000);
    assert.deepEqual(times, [500, 1500, 3500]);
    assert.equal(errors.length, 1);
  });

  it('ignores acknowledge() and stop() after the outcome, and refuses a second start()', () => {
    const { clock, noAck, retransmitter } = setup();
    retransmitter.start();
    assert.throws(() => retransmitter.start());
    clock.advance(32_000);
    assert.deepEqual(noAck, [32_000]);
    retransmitter.acknowledge();
    retransmitter.stop();
    assert.equal(retransmitter.state, 'gave-up');
  });

  it('stops without reporting anything on stop()', () => {
    const { clock, times, noAck, retransmitter } = setup();
    retransmitter.start();
    clock.advance(600);
    retransmitter.stop();
    clock.advance(60_000);
    assert.deepEqual(times, [500]);
    assert.deepEqual(noAck, []);
    assert.equal(retransmitter.state, 'stopped');
    assert.equal(clock.pendingTimers(), 0);
  });
});
