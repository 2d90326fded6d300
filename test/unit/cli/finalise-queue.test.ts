/**
 * The finalisation queue of the recorder (cli/finalise-queue.ts): at most `concurrency`
 * finalisations at once, in the order the calls ended; a failing one frees its slot; the backlog
 * is reported from `backlogThreshold` waiting recordings on, with the oldest one's wait, and ends
 * when the queue is short again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FinaliseQueue } from '../../../src/cli/finalise-queue.js';

/** A task that runs until released. */
function gate(): {
  task: () => Promise<string>;
  release: (value: string) => void;
  fail: (error: Error) => void;
  started: () => boolean;
} {
  let started = false;
  let release: (value: string) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const promise = new Promise<string>((resolve, reject) => {
    release = resolve;
    fail = reject;
  });
  return {
    task: () => {
      started = true;
      return promise;
    },
    release: (value) => release(value),
    fail: (error) => fail(error),
    started: () => started,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FinaliseQueue', () => {
  it('runs at most `concurrency` tasks at once, the others in order as slots free up', async () => {
    const queue = new FinaliseQueue({ concurrency: 2, backlogThreshold: 10 });
    const gates = [gate(), gate(), gate(), gate()];
    const results = gates.map((g) => queue.run(g.task));
    await tick();
    assert.deepEqual(
      gates.map((g) => g.started()),
      [true, true, false, false],
    );
    assert.equal(queue.running, 2);
    assert.equal(queue.waiting, 2);
    gates[1]?.release('b');
    assert.equal(await results[1], 'b');
    await tick();
    assert.deepEqual(
      gates.map((g) => g.started()),
      [true, true, true, false],
      'the next in line, not the last',
    );
    gates[0]?.release('a');
    gates[2]?.release('c');
    await Promise.all([results[0], results[2]]);
    await tick();
    assert.equal(gates[3]?.started(), true);
    gates[3]?.release('d');
    assert.equal(await results[3], 'd');
    await tick(); // the slot is given back right after the task settles
    assert.equal(queue.running, 0);
    assert.equal(queue.waiting, 0);
  });

  it('passes a failure to its caller and frees the slot for the next task', async () => {
    const queue = new FinaliseQueue({ concurrency: 1, backlogThreshold: 10 });
    const first = gate();
    const second = gate();
    const failed = queue.run(first.task);
    const next = queue.run(second.task);
    first.fail(new Error('merge failed: EIO'));
    await assert.rejects(failed, /merge failed: EIO/);
    await tick();
    assert.equal(second.started(), true);
    second.release('sealed');
    assert.equal(await next, 'sealed');
  });

  it('reports a backlog from the threshold on, with the oldest wait, and not after it drains', async () => {
    let now = 1000;
    const queue = new FinaliseQueue({ concurrency: 1, backlogThreshold: 3, now: () => now });
    const gates = Array.from({ length: 4 }, () => gate());
    const results: Array<Promise<string>> = [];
    for (const [i, g] of gates.entries()) {
      now = 1000 + i * 500;
      results.push(queue.run(g.task));
    }
    now = 5000;
    assert.deepEqual(queue.backlog(), { waiting: 3, running: 1, oldestWaitMs: 4000 - 500 });
    gates[0]?.release('a');
    await results[0];
    await tick();
    assert.equal(queue.backlog(), undefined, 'two waiting: below the threshold');
    for (const g of gates.slice(1)) g.release('x');
    await Promise.all(results);
    assert.equal(queue.backlog(), undefined);
  });

  it('refuses a concurrency below one', () => {
    assert.throws(() => new FinaliseQueue({ concurrency: 0, backlogThreshold: 1 }), RangeError);
  });
});
