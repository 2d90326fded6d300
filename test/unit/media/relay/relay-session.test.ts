/**
 * RelaySession (SPEC §2 media anchoring) over real loopback UDP:
 * - RTP and RTCP are relayed between the legs in both directions; every accepted RTP packet is
 *   forked with its leg, RTCP is not; a throwing fork never stops the relay;
 * - symmetric RTP (RFC 4961): replies go to the latched source, before it to the SDP port;
 * - strict source: only the SDP address is accepted, its first port latched; latch mode: the
 *   first source from anywhere; everything else is dropped, counted and never forked;
 * - setRemote with a new address drops the latch; legacy hold keeps the address; a=inactive
 *   peers get nothing;
 * - close() releases the ports, is idempotent, and the closed session rejects setRemote.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { PortAllocator } from '../../../../src/media/relay/port-allocator.js';
import { RelaySession } from '../../../../src/media/relay/relay-session.js';
import { freePortRange, rtcpPacket, rtpPacket } from './loopback.js';
import {
  closeAfterTest,
  closeTestResources,
  nextSequence,
  openCall,
  openPeer,
  openSocket,
  remoteOf,
  sendRtp,
} from './relay-harness.js';

afterEach(closeTestResources);

describe('RelaySession', () => {
  it('relays RTP from a to b and from b to a, forking each packet with its leg', async () => {
    const call = await openCall();
    const before = Date.now();
    await sendRtp(call, call.a.rtp, 'a', 1);
    const atB = await call.b.rtp.next();
    assert.deepEqual(atB.data, rtpPacket(1));
    assert.equal(atB.from.port, call.session.leg('b').localRtpPort, 'sent from the b leg socket');
    await sendRtp(call, call.b.rtp, 'b', 2);
    const atA = await call.a.rtp.next();
    assert.equal(atA.data.readUInt16BE(2), 2);
    assert.equal(atA.from.port, call.session.leg('a').localRtpPort);

    assert.deepEqual(
      call.forks.map((f) => [f.leg, f.sequence]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.ok(call.forks.every((f) => f.arrivalMs >= before && f.arrivalMs <= Date.now()));
    const stats = call.session.stats();
    assert.equal(stats.a.packetsIn, 1);
    assert.equal(stats.a.bytesIn, 172);
    assert.equal(stats.a.packetsOut, 1);
    assert.equal(stats.b.packetsIn, 1);
    assert.equal(stats.b.packetsOut, 1);
    assert.equal(stats.a.rtpSource, `127.0.0.1:${call.a.rtp.port}`);
    assert.ok(stats.a.lastPacketMs >= before);
  });

  it('relays RTCP between the RTCP ports in both directions without forking it', async () => {
    const call = await openCall();
    await call.a.rtcp.send(rtcpPacket(1), call.session.leg('a').localRtcpPort);
    const atB = await call.b.rtcp.next();
    assert.equal(atB.data.readUInt32BE(4), 1);
    assert.equal(atB.from.port, call.session.leg('b').localRtcpPort);
    await call.b.rtcp.send(rtcpPacket(2), call.session.leg('b').localRtcpPort);
    assert.equal((await call.a.rtcp.next()).data.readUInt32BE(4), 2);
    assert.equal(call.forks.length, 0);
    assert.equal(call.session.stats().a.rtcpPacketsIn, 1);
    assert.equal(call.b.rtp.received.length, 0, 'RTCP never reaches the RTP port');
  });

  it('sends to the latched source, before it to the SDP port (symmetric RTP, RFC 4961)', async () => {
    const call = await openCall();
    await sendRtp(call, call.a.rtp, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1, 'b has not sent yet: its SDP port');
    const behindNat = await openSocket();
    await sendRtp(call, behindNat, 'b', 2);
    assert.equal(await nextSequence(call.a.rtp), 2);
    await sendRtp(call, call.a.rtp, 'a', 3);
    assert.equal(await nextSequence(behindNat), 3, 'then where b really sends from');
    assert.equal(call.session.stats().b.rtpSource, `127.0.0.1:${behindNat.port}`);
  });

  it('strict source: drops and counts packets from another address and never forks them', async () => {
    const call = await openCall({ strictSource: true });
    const intruder = await openSocket('127.0.0.2');
    await sendRtp(call, intruder, 'a', 66);
    await intruder.send(rtcpPacket(66), call.session.leg('a').localRtcpPort);
    await sendRtp(call, call.a.rtp, 'a', 1);
    await call.a.rtcp.send(rtcpPacket(1), call.session.leg('a').localRtcpPort);
    assert.equal(await nextSequence(call.b.rtp), 1, 'the first packet b gets is the real one');
    assert.equal((await call.b.rtcp.next()).data.readUInt32BE(4), 1, 'and the real RTCP');
    assert.deepEqual(
      call.forks.map((f) => f.sequence),
      [1],
    );
    assert.equal(call.session.stats().a.foreignDropped, 2);
    assert.equal(call.session.stats().a.packetsIn, 2);
  });

  it('strict source: once latched, drops another port on the same address', async () => {
    const call = await openCall();
    await sendRtp(call, call.a.rtp, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1);
    const samehost = await openSocket('127.0.0.1');
    await sendRtp(call, samehost, 'a', 66);
    await sendRtp(call, call.a.rtp, 'a', 2);
    assert.equal(await nextSequence(call.b.rtp), 2);
    assert.equal(call.session.stats().a.foreignDropped, 1);
  });

  it('latch mode: takes the first source from anywhere and drops the negotiated one afterwards', async () => {
    const call = await openCall({ strictSource: false });
    const elsewhere = await openSocket('127.0.0.2');
    await sendRtp(call, elsewhere, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1);
    await sendRtp(call, call.a.rtp, 'a', 66);
    await sendRtp(call, elsewhere, 'a', 2);
    assert.equal(await nextSequence(call.b.rtp), 2);
    await sendRtp(call, call.b.rtp, 'b', 3);
    assert.equal(await nextSequence(elsewhere), 3, 'replies go to the latched source');
    assert.equal(call.session.stats().a.foreignDropped, 1);
    assert.deepEqual(
      call.forks.map((f) => f.sequence),
      [1, 2, 3],
    );
  });

  it('a new address from setRemote (re-INVITE) drops the latch and moves to the new peer', async () => {
    const call = await openCall();
    await sendRtp(call, call.a.rtp, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1);
    const moved = await openPeer('127.0.0.2');
    call.session.leg('a').setRemote(remoteOf(moved));
    await sendRtp(call, call.b.rtp, 'b', 2);
    assert.equal(await nextSequence(moved.rtp), 2, 'to the new SDP address before it sends');
    await sendRtp(call, call.a.rtp, 'a', 66);
    await sendRtp(call, moved.rtp, 'a', 3);
    assert.equal(await nextSequence(call.b.rtp), 3);
    assert.equal(call.session.stats().a.foreignDropped, 1);
    assert.equal(call.session.stats().a.rtpSource, `127.0.0.2:${moved.rtp.port}`);
  });

  it('legacy hold (c=0.0.0.0) keeps the known address and only changes the direction', async () => {
    const call = await openCall();
    call.session.leg('a').setRemote({ address: '0.0.0.0', rtpPort: 4000, rtcpPort: 4001, direction: 'sendonly' });
    assert.deepEqual(call.session.leg('a').remote, remoteOf(call.a, 'sendonly'));
    assert.equal(call.session.leg('a').onHold, true);
    await sendRtp(call, call.a.rtp, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1, 'music on hold still flows from the holder');
  });

  it('sends nothing to an a=inactive peer (counted undeliverable) but still to a sendonly one', async () => {
    const call = await openCall();
    call.session.leg('b').setRemote(remoteOf(call.b, 'inactive'));
    await sendRtp(call, call.a.rtp, 'a', 1);
    await call.forked(1);
    call.session.leg('b').setRemote(remoteOf(call.b, 'sendonly'));
    await sendRtp(call, call.a.rtp, 'a', 2);
    assert.equal(await nextSequence(call.b.rtp), 2);
    assert.equal(call.session.stats().b.undeliverable, 1);
    assert.deepEqual(
      call.forks.map((f) => f.sequence),
      [1, 2],
      'the recorder still gets what the inactive peer did not',
    );
  });

  it('keeps relaying when the fork throws, counting the failures per leg', async () => {
    const call = await openCall({
      onRtp: () => {
        throw new Error('recorder broke');
      },
    });
    await sendRtp(call, call.a.rtp, 'a', 1);
    await sendRtp(call, call.a.rtp, 'a', 2);
    assert.equal(await nextSequence(call.b.rtp), 1);
    assert.equal(await nextSequence(call.b.rtp), 2);
    assert.equal(call.session.stats().a.forkErrors, 2);
    assert.equal(call.session.stats().b.forkErrors, 0);
  });

  it('counts packets for a leg whose peer has no SDP yet as undeliverable', async () => {
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: await freePortRange(4) });
    let handled: () => void = () => undefined;
    const firstHandled = new Promise<void>((resolve) => (handled = resolve));
    const session = await RelaySession.open(allocator, { onRtp: () => handled() });
    closeAfterTest(() => session.close());
    const a = await openPeer();
    session.leg('a').setRemote(remoteOf(a));
    await a.rtp.send(rtpPacket(1), session.leg('a').localRtpPort);
    await firstHandled;
    const b = await openPeer();
    session.leg('b').setRemote(remoteOf(b));
    await a.rtp.send(rtpPacket(2), session.leg('a').localRtpPort);
    assert.equal(await nextSequence(b.rtp), 2);
    assert.equal(session.stats().b.undeliverable, 1);
  });

  it('relays IPv4 peers through dual-stack udp6 sockets (IPv4-mapped sources)', async () => {
    const call = await openCall({}, '::');
    await sendRtp(call, call.a.rtp, 'a', 1);
    assert.equal(await nextSequence(call.b.rtp), 1);
    await sendRtp(call, call.b.rtp, 'b', 2);
    assert.equal(await nextSequence(call.a.rtp), 2);
    assert.equal(call.session.stats().a.foreignDropped, 0);
    assert.equal(call.session.stats().b.sendErrors, 0);
  });

  it('close() releases both port pairs, is idempotent and rejects later setRemote', async () => {
    const call = await openCall();
    assert.equal(call.allocator.inUse, 2);
    const ports = [call.session.leg('a').localRtpPort, call.session.leg('b').localRtpPort];
    call.session.close();
    call.session.close();
    assert.equal(call.allocator.inUse, 0);
    assert.equal(call.session.closed, true);
    assert.equal(call.session.stats().closed, true);
    assert.throws(
      () => call.session.leg('a').setRemote(remoteOf(call.a)),
      (error: unknown) => error instanceof AppError && error.code === 'MEDIA_SOCKET',
    );
    const again = await RelaySession.open(call.allocator);
    closeAfterTest(() => again.close());
    assert.equal(call.allocator.inUse, 2);
    assert.ok(ports.every((port) => port % 2 === 0));
  });

  it('gives the first pair back when the second cannot be allocated', async () => {
    const [first] = await freePortRange(2);
    const allocator = new PortAllocator({ host: '127.0.0.1', portRange: [first, first + 1] });
    await assert.rejects(
      RelaySession.open(allocator),
      (error: unknown) => error instanceof AppError && error.code === 'MEDIA_PORTS_EXHAUSTED',
    );
    assert.equal(allocator.inUse, 0);
  });
});
