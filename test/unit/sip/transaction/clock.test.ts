import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, SystemClock } from '../../../../src/sip/transaction/index.js';

describe('FakeClock', () => {
  it('fires nothing until advanced, then each timer at its own due time in due order', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 300);
    clock.setTimer(() => fired.push(`a@${clock.now()}`), 100);
    assert.deepEqual(fired, []);
    assert.equal(clock.pendingTimers(), 2);
    clock.advance(1000);
    assert.deepEqual(fired, ['a@100', 'b@300']);
    assert.equal(clock.now(), 1000);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('fires timers with the same due time in scheduling order', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    for (const n of [1, 2, 3]) clock.setTimer(() => fired.push(n), 50);
    clock.advance(50);
    assert.deepEqual(fired, [1, 2, 3]);
  });

  it('fires timers scheduled by fired callbacks when they fall due within the same advance', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const tick = (): void => {
      fired.push(clock.now());
      clock.setTimer(tick, 100);
    };
    clock.setTimer(tick, 100);
    clock.advance(350);
    assert.deepEqual(fired, [100, 200, 300]);
    assert.equal(clock.pendingTimers(), 1);
    assert.equal(clock.nextDue(), 400);
  });

  it('does not fire a cleared timer, and clearing twice is harmless', () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimer(() => (fired = true), 10);
    clock.clearTimer(handle);
    clock.clearTimer(handle);
    clock.advance(100);
    assert.equal(fired, false);
  });

  it('lets a callback clear a timer due at the same instant', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const handles: { later?: ReturnType<FakeClock['setTimer']> } = {};
    clock.setTimer(() => {
      fired.push('first');
      if (handles.later !== undefined) clock.clearTimer(handles.later);
    }, 10);
    handles.later = clock.setTimer(() => fired.push('second'), 10);
    clock.advance(10);
    assert.deepEqual(fired, ['first']);
  });

  it('treats a 0 ms timer as due now but fires it only on advance', () => {
    const clock = new FakeClock(5000);
    let at = -1;
    clock.setTimer(() => (at = clock.now()), 0);
    assert.equal(at, -1);
    clock.advance(0);
    assert.equal(at, 5000);
  });

  it('runs all pending timers with runAll and refuses to go back in time', () => {
    const clock = new FakeClock();
    let count = 0;
    clock.setTimer(() => count++, 10_000);
    clock.setTimer(() => count++, 20_000);
    clock.runAll();
    assert.equal(count, 2);
    assert.equal(clock.now(), 20_000);
    assert.throws(() => clock.advanceTo(10));
    assert.throws(() => clock.advance(-1));
  });
});

describe('SystemClock', () => {
  it('fires a timer on real time and not after clearTimer', async () => {
    const clock = new SystemClock();
    const start = clock.now();
    let cleared = false;
    const handle = clock.setTimer(() => (cleared = true), 5);
    clock.clearTimer(handle);
    // SystemClock timers are unref'd: a ref'd guard keeps the event loop alive meanwhile.
    const guard = setTimeout(() => undefined, 1000);
    await new Promise<void>((resolve) => clock.setTimer(resolve, 10));
    clearTimeout(guard);
    assert.ok(clock.now() - start >= 9, 'now() is monotonic milliseconds');
    assert.equal(cleared, false);
  });
});
