/**
 * The relay's send path (issue "Media anchoring": relay cost per packet): sockets stay
 * unconnected (foreign packets must still reach the relay to be counted), numeric destinations
 * are answered without dns.lookup, a host name in c= still resolves, and failed sends are counted
 * for the first send to a destination and one send in 64 (the others go without a callback).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { rtpPacket } from './loopback.js';
import { closeTestResources, nextSequence, openCall, openSocket, remoteOf, sendRtp } from './relay-harness.js';

afterEach(closeTestResources);

describe('RelayLeg sending', () => {
  it('relays every packet of a long stream to the same peer, in order, without send errors', async () => {
    const call = await openCall();
    const got: number[] = [];
    for (let seq = 0; seq < 300; seq++) {
      await sendRtp(call, call.a.rtp, 'a', seq);
      got.push(await nextSequence(call.b.rtp)); // one at a time: a burst would overflow the test socket
    }
    assert.deepEqual(
      got,
      Array.from({ length: 300 }, (_, i) => i),
    );
    const stats = call.session.stats();
    assert.equal(stats.b.packetsOut, 300);
    assert.equal(stats.b.sendErrors, 0);
  });

  it('resolves a host name in the peer SDP (c=localhost) and sends there', async () => {
    const call = await openCall({ strictSource: false });
    call.session.leg('b').setRemote({ ...remoteOf(call.b), address: 'localhost' });
    await sendRtp(call, call.a.rtp, 'a', 7);
    assert.equal(await nextSequence(call.b.rtp), 7);
    assert.equal(call.session.stats().b.sendErrors, 0);
  });

  it('still counts foreign packets after the peer is latched (the sockets stay unconnected)', async () => {
    const call = await openCall();
    await sendRtp(call, call.a.rtp, 'a', 1);
    await nextSequence(call.b.rtp);
    const stranger = await openSocket('127.0.0.1');
    for (let i = 0; i < 5; i++) await stranger.send(rtpPacket(100 + i), call.session.leg('a').localRtpPort);
    await sendRtp(call, call.a.rtp, 'a', 2);
    assert.equal(await nextSequence(call.b.rtp), 2, 'the stranger packets were not relayed');
    assert.equal(call.session.stats().a.foreignDropped, 5);
  });

  it('counts failed sends: the first to a destination and then one in 64', async () => {
    const call = await openCall({ strictSource: false });
    // An IPv6 destination for an IPv4 socket: every send fails at once
    call.session.leg('b').setRemote({ address: '::1', rtpPort: 9, rtcpPort: 10, direction: 'sendrecv' });
    for (let seq = 0; seq < 70; seq++) await sendRtp(call, call.a.rtp, 'a', seq);
    await call.forked(70);
    await sleep(50); // send callbacks run on a later tick
    const stats = call.session.stats().b;
    assert.equal(stats.packetsOut, 70);
    assert.equal(stats.sendErrors, 2, 'sends 1 and 65 were checked');
  });
});
