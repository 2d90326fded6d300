/**
 * RelaySession media timeout (SPEC §1: no RTP in either direction for N seconds, hold-aware):
 * - fires once, only after startMediaTimeout, after timeoutSeconds without RTP on both legs;
 * - RTP on either leg keeps it off; time on hold (any leg not sendrecv) does not count and a
 *   resume starts a new window; 0 disables it; close() cancels it.
 * Real timers with short timeouts: the assertions allow for scheduling delays.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { closeTestResources, openCall, remoteOf, sendRtp, type Call } from './relay-harness.js';

afterEach(closeTestResources);

describe('RelaySession media timeout', () => {
  interface TimeoutCall {
    readonly call: Call;
    readonly fired: number[];
    /** Resolves with the time of the first onTimeout; rejects if it has not come within `ms`. */
    firstWithin(ms: number): Promise<number>;
  }

  async function timeoutCall(timeoutSeconds: number): Promise<TimeoutCall> {
    const fired: number[] = [];
    let resolveFirst: (at: number) => void = () => undefined;
    const first = new Promise<number>((resolve) => (resolveFirst = resolve));
    const onTimeout = (): void => {
      fired.push(Date.now());
      resolveFirst(Date.now());
    };
    const call = await openCall({ timeoutSeconds, onTimeout });
    const firstWithin = async (ms: number): Promise<number> => {
      const abort = new AbortController();
      const late = delay(ms, undefined, { signal: abort.signal }).then(() => {
        throw new Error(`no media timeout within ${ms} ms`);
      });
      late.catch(() => undefined);
      try {
        return await Promise.race([first, late]);
      } finally {
        abort.abort();
      }
    };
    return { call, fired, firstWithin };
  }

  it('fires once when neither leg receives RTP for timeoutSeconds', async () => {
    const { call, fired, firstWithin } = await timeoutCall(0.3);
    const started = Date.now();
    call.session.startMediaTimeout();
    call.session.startMediaTimeout();
    const at = await firstWithin(2000);
    assert.ok(at - started >= 290, `fired after ${at - started} ms`);
    await delay(450);
    assert.equal(fired.length, 1, 'only once');
    assert.equal(call.session.timedOut, true);
  });

  it('is kept off by RTP on one leg and fires after the RTP stops', async () => {
    const { call, fired, firstWithin } = await timeoutCall(0.3);
    call.session.startMediaTimeout();
    for (let sequence = 0; sequence < 10; sequence += 1) {
      await sendRtp(call, call.b.rtp, 'b', sequence);
      await delay(50);
    }
    assert.equal(fired.length, 0);
    const stopped = Date.now();
    const at = await firstWithin(2000);
    assert.ok(at - stopped >= 200, `fired ${at - stopped} ms after the last packet`);
  });

  it('does not count time on hold and restarts the window on resume', async () => {
    const { call, fired, firstWithin } = await timeoutCall(0.2);
    call.session.leg('a').setRemote(remoteOf(call.a, 'sendonly'));
    call.session.startMediaTimeout();
    await delay(600);
    assert.equal(fired.length, 0, 'no timeout while a holds');
    const resumed = Date.now();
    call.session.leg('a').setRemote(remoteOf(call.a, 'sendrecv'));
    const at = await firstWithin(2000);
    assert.ok(at - resumed >= 190, `fired ${at - resumed} ms after resume`);
  });

  it('does not run before startMediaTimeout, nor when timeoutSeconds is 0', async () => {
    const { fired } = await timeoutCall(0.1);
    const disabled = await timeoutCall(0);
    disabled.call.session.startMediaTimeout();
    await delay(350);
    assert.equal(fired.length + disabled.fired.length, 0);
  });

  it('does not fire after close', async () => {
    const { call, fired } = await timeoutCall(0.1);
    call.session.startMediaTimeout();
    call.session.close();
    await delay(300);
    assert.equal(fired.length, 0);
  });
});
