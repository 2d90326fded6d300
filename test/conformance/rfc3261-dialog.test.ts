/**
 * RFC 3261 §12 dialogs, §13.2.2.4 ACK for 2xx, §13.3.1.4 2xx retransmission. Requirements verified:
 *  - §12.1.1 UAS dialog state: route set = Record-Route in order, remote target = request Contact,
 *    remote CSeq = request CSeq, local CSeq empty, local tag = To tag sent, remote tag = From tag,
 *    secure only for a SIPS Request-URI over TLS;
 *  - §12.1.2 UAC dialog state: route set = Record-Route reversed, remote target = response Contact,
 *    local CSeq = request CSeq, remote CSeq empty, local tag = From tag, remote tag = To tag;
 *  - §12.2.1.1 in-dialog requests: To/From with tags, Call-ID, CSeq +1 (initial value when
 *    empty), Max-Forwards 70, new branch; loose routing (Request-URI = remote target, Route = route
 *    set); strict routing (Request-URI = first route without disallowed parameters, Route = rest
 *    + remote target); ACK and CANCEL never consume a CSeq;
 *  - §12.2.2 remote CSeq: a lower CSeq is rejected with 500; target refresh replaces the remote
 *    target (re-INVITE request on the UAS, 2xx on the UAC), never the route set;
 *  - §12.2.1.2 a 481/408 terminates the dialog; §12.3 a non-2xx final ends early dialogs;
 *  - §13.2.2.4 ACK: INVITE's CSeq number with method ACK, new branch, in-dialog routing,
 *    credentials of the INVITE;
 *  - §13.3.1.4 2xx retransmitted at T1 doubling to T2 until ACK, given up after 64*T1;
 *  - §12.1.2 / §13.2.2.4 forking: one early dialog per To tag.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNameAddr, formatUri, getHeader, getHeaderValues, requestUriText } from '../../src/sip/message/index.js';
import { Dialog, DialogLayer, Uas2xxRetransmitter } from '../../src/sip/dialog/index.js';
import { FakeClock, hasMagicCookie } from '../../src/sip/transaction/index.js';
import { makeRequest, makeResponse } from '../unit/sip/transaction/support.js';

const VIA = { transport: 'UDP', host: '192.0.2.10', port: 5060 } as const;

/** An INVITE that crossed two record-routing proxies (p1 nearest the UAC, p2 nearest the UAS). */
function recordRoutedInvite(init: Parameters<typeof makeRequest>[0] = {}) {
  return makeRequest({
    cseq: 101,
    contact: '<sip:alice@192.0.2.10:5060;transport=udp>',
    recordRoute: ['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>'],
    ...init,
  });
}

/** The 2xx the UAS sends back: Record-Route copied (§12.1.1), its own Contact. */
function okFor(invite: ReturnType<typeof makeRequest>, toTag = 'bob-1', contact = '<sip:bob@192.0.2.20:5062>') {
  return makeResponse(invite, 200, {
    toTag,
    headers: [
      ...getHeaderValues(invite, 'Record-Route').map((v) => ['Record-Route', v] as const),
      ['Contact', contact],
    ],
  });
}

describe('§12.1 dialog creation', () => {
  it('builds the UAS dialog state from the INVITE and the 2xx it sends (§12.1.1)', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    assert.equal(dialog.role, 'uas');
    assert.equal(dialog.state, 'confirmed');
    assert.deepEqual(dialog.id, { callId: invite.callId, localTag: 'bob-1', remoteTag: 'a1' });
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@192.0.2.10:5060;transport=udp');
    assert.equal(dialog.remoteSeq, 101);
    assert.equal(dialog.localSeq, undefined);
    assert.equal(formatUri(dialog.localUri), 'sip:bob@192.0.2.20');
    assert.equal(formatUri(dialog.remoteUri), 'sip:alice@192.0.2.10');
    assert.equal(dialog.secure, false);
  });

  it('builds the UAC dialog state from its INVITE and the 2xx (§12.1.2)', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite));
    assert.equal(dialog.role, 'uac');
    assert.equal(dialog.state, 'confirmed');
    assert.deepEqual(dialog.id, { callId: invite.callId, localTag: 'a1', remoteTag: 'bob-1' });
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.20:5062');
    assert.equal(dialog.localSeq, 101);
    assert.equal(dialog.remoteSeq, undefined);
    assert.equal(formatUri(dialog.localUri), 'sip:alice@192.0.2.10');
    assert.equal(formatUri(dialog.remoteUri), 'sip:bob@192.0.2.20');
  });

  it('creates an early dialog from a 180 with To tag and confirms it with the 2xx, recomputing the route set', () => {
    const invite = recordRoutedInvite();
    const ringing = makeResponse(invite, 180, {
      toTag: 'bob-1',
      headers: [
        ['Record-Route', '<sip:p1.example.com;lr>'],
        ['Contact', '<sip:bob@192.0.2.20:5062>'],
      ],
    });
    const dialog = Dialog.asUac(invite, ringing);
    assert.equal(dialog.state, 'early');
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p1.example.com;lr>']);
    dialog.receiveResponse(okFor(invite, 'bob-1', '<sip:bob@198.51.100.2>'));
    assert.equal(dialog.state, 'confirmed');
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@198.51.100.2');
  });

  it('sets the secure flag only for a SIPS Request-URI over TLS', () => {
    const sips = recordRoutedInvite({ uri: 'sips:bob@example.com' });
    assert.equal(Dialog.asUas(sips, okFor(sips), { protocol: 'tls' }).secure, true);
    assert.equal(Dialog.asUas(sips, okFor(sips), { protocol: 'tcp' }).secure, false);
    const sip = recordRoutedInvite();
    assert.equal(Dialog.asUac(sip, okFor(sip), { protocol: 'tls' }).secure, false);
  });

  it('creates no dialog from a 100, a tagless provisional or a final failure', () => {
    const invite = recordRoutedInvite();
    assert.throws(() => Dialog.asUac(invite, makeResponse(invite, 100)), { code: 'SIP_DIALOG_STATE' });
    assert.throws(() => Dialog.asUac(invite, makeResponse(invite, 180, { toTag: null })), /without To tag/);
    assert.throws(() => Dialog.asUas(invite, makeResponse(invite, 486)), { code: 'SIP_DIALOG_STATE' });
  });
});

describe('§12.2.1.1 requests within a dialog', () => {
  it('sets To, From, Call-ID, CSeq + 1, Max-Forwards 70 and a new branch', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const bye = dialog.createRequest('BYE');
    assert.equal(getHeader(bye, 'To'), '<sip:bob@192.0.2.20>;tag=bob-1');
    assert.equal(getHeader(bye, 'From'), 'Alice <sip:alice@192.0.2.10>;tag=a1');
    assert.equal(bye.callId, invite.callId);
    assert.deepEqual(bye.cseq, { seq: 102, method: 'BYE' });
    assert.equal(bye.maxForwards, 70);
    assert.equal(bye.via.length, 1);
    assert.ok(hasMagicCookie(bye.via[0]!.branch));
    assert.notEqual(bye.via[0]!.branch, invite.via[0]!.branch);
    assert.equal(getHeader(bye, 'Via')!.startsWith('SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK'), true);
    assert.equal(dialog.createRequest('INFO').cseq.seq, 103);
    assert.equal(dialog.localSeq, 103);
  });

  it('uses loose routing when the first route has ;lr: Request-URI = remote target, Route = route set', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const info = dialog.createRequest('INFO');
    assert.equal(requestUriText(info), 'sip:bob@192.0.2.20:5062');
    assert.deepEqual(getHeaderValues(info, 'Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  });

  it('uses strict routing when the first route lacks ;lr: Request-URI = first route, Route = rest + remote target', () => {
    const invite = recordRoutedInvite({
      recordRoute: ['<sip:p2.example.com;lr>', '<sip:p1.example.com;method=INVITE;maddr=192.0.2.50?x=y>'],
    });
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const info = dialog.createRequest('INFO');
    assert.equal(requestUriText(info), 'sip:p1.example.com;maddr=192.0.2.50');
    assert.deepEqual(getHeaderValues(info, 'Route'), ['<sip:p2.example.com;lr>', '<sip:bob@192.0.2.20:5062>']);
  });

  it('sends to the remote target without Route when the route set is empty', () => {
    const invite = makeRequest({ cseq: 1, contact: '<sip:alice@192.0.2.10>' });
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const bye = dialog.createRequest('BYE');
    assert.equal(requestUriText(bye), 'sip:bob@192.0.2.20:5062');
    assert.deepEqual(getHeaderValues(bye, 'Route'), []);
  });

  it('chooses an initial local CSeq below 2**31 on the UAS side and increments it afterwards', () => {
    const invite = recordRoutedInvite();
    const chosen = Dialog.asUas(invite, okFor(invite), { via: VIA }).createRequest('BYE').cseq.seq;
    assert.ok(chosen >= 1 && chosen < 2 ** 31);
    const dialog = Dialog.asUas(invite, okFor(invite), { via: VIA, initialLocalSeq: 7 });
    assert.equal(dialog.createRequest('INFO').cseq.seq, 7);
    assert.equal(dialog.createRequest('BYE').cseq.seq, 8);
  });

  it('puts the local Contact into target-refresh requests only', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA, localContact: '<sip:callrec@192.0.2.10>' });
    assert.equal(getHeader(dialog.createRequest('INVITE'), 'Contact'), '<sip:callrec@192.0.2.10>');
    assert.equal(getHeader(dialog.createRequest('UPDATE'), 'Contact'), '<sip:callrec@192.0.2.10>');
    assert.equal(getHeader(dialog.createRequest('BYE'), 'Contact'), undefined);
  });

  it('refuses ACK and CANCEL as new requests, and any request once terminated', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    assert.throws(() => dialog.createRequest('ACK'));
    assert.throws(() => dialog.createRequest('CANCEL'));
    dialog.terminate();
    assert.throws(() => dialog.createRequest('BYE'), { code: 'SIP_DIALOG_STATE' });
  });
});

describe('§12.2.2 requests received within a dialog', () => {
  it('answers 500 to a CSeq lower than the remote CSeq and accepts equal or higher ones', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    const inDialog = (method: string, cseq: number) =>
      makeRequest({ method, cseq, toTag: 'bob-1', callId: invite.callId });
    assert.deepEqual(dialog.receiveRequest(inDialog('INFO', 105)), { accepted: true });
    assert.equal(dialog.remoteSeq, 105);
    const verdict = dialog.receiveRequest(inDialog('INFO', 104));
    assert.equal(verdict.accepted, false);
    assert.equal(!verdict.accepted && verdict.status, 500);
    assert.equal(dialog.remoteSeq, 105);
    assert.deepEqual(dialog.receiveRequest(inDialog('BYE', 105)), { accepted: true });
  });

  it('does not check the CSeq of ACK and CANCEL, which carry the INVITE number', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    dialog.receiveRequest(makeRequest({ method: 'INFO', cseq: 102, toTag: 'bob-1' }));
    assert.deepEqual(dialog.receiveRequest(makeRequest({ method: 'ACK', cseq: 101, toTag: 'bob-1' })), {
      accepted: true,
    });
    assert.equal(dialog.remoteSeq, 102);
  });

  it('sets an empty remote CSeq from the first request the UAC receives', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite));
    assert.deepEqual(dialog.receiveRequest(makeRequest({ method: 'BYE', cseq: 1 })), { accepted: true });
    assert.equal(dialog.remoteSeq, 1);
  });

  it('replaces the remote target on a re-INVITE with Contact, but not the route set', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    const routeSet = dialog.routeSet;
    dialog.receiveRequest(
      makeRequest({
        cseq: 102,
        toTag: 'bob-1',
        contact: '<sip:alice@203.0.113.80:5090>',
        recordRoute: ['<sip:other.example.com;lr>'],
      }),
    );
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@203.0.113.80:5090');
    assert.equal(dialog.routeSet, routeSet);
  });

  it('does not refresh the target from a non-target-refresh request', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    dialog.receiveRequest(
      makeRequest({ method: 'INFO', cseq: 102, toTag: 'bob-1', contact: '<sip:elsewhere@203.0.113.80>' }),
    );
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@192.0.2.10:5060;transport=udp');
  });

  it('answers 481 once the dialog is terminated', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUas(invite, okFor(invite));
    dialog.terminate();
    const verdict = dialog.receiveRequest(makeRequest({ method: 'BYE', cseq: 200, toTag: 'bob-1' }));
    assert.equal(!verdict.accepted && verdict.status, 481);
  });
});

describe('§12.2.1.2 responses within a dialog', () => {
  it('replaces the remote target with the Contact of a 2xx to a re-INVITE (UAC side)', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const reinvite = dialog.createRequest('INVITE');
    dialog.receiveResponse(okFor(reinvite, 'bob-1', '<sip:bob@198.51.100.99>'));
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@198.51.100.99');
    assert.deepEqual(dialog.routeSet.map(formatNameAddr), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  });

  it('keeps the remote target on a failed re-INVITE and stays confirmed', () => {
    const invite = recordRoutedInvite();
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    const reinvite = dialog.createRequest('INVITE');
    dialog.receiveResponse(
      makeResponse(reinvite, 491, { toTag: 'bob-1', headers: [['Contact', '<sip:x@198.51.100.1>']] }),
    );
    assert.equal(dialog.state, 'confirmed');
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.20:5062');
  });

  it('terminates the dialog on a 481 or 408 to an in-dialog request', () => {
    for (const status of [481, 408]) {
      const invite = recordRoutedInvite();
      const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
      const info = dialog.createRequest('INFO');
      dialog.receiveResponse(makeResponse(info, status, { toTag: 'bob-1' }));
      assert.equal(dialog.state, 'terminated', String(status));
    }
  });
});

describe('§13.2.2.4 ACK for a 2xx', () => {
  it('carries the INVITE CSeq number with method ACK, a new branch, in-dialog routing and the INVITE credentials', () => {
    const invite = recordRoutedInvite({
      extraHeaders: [
        [
          'Proxy-Authorization',
          'Digest username="alice", realm="example.com", nonce="n", uri="sip:bob@192.0.2.20", response="r"',
        ],
      ],
    });
    const ok = okFor(invite);
    const dialog = Dialog.asUac(invite, ok, { via: VIA });
    const ack = dialog.createAck(invite, ok);
    assert.equal(ack.method, 'ACK');
    assert.deepEqual(ack.cseq, { seq: 101, method: 'ACK' });
    assert.equal(requestUriText(ack), 'sip:bob@192.0.2.20:5062');
    assert.deepEqual(getHeaderValues(ack, 'Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.ok(hasMagicCookie(ack.via[0]!.branch));
    assert.notEqual(ack.via[0]!.branch, invite.via[0]!.branch);
    assert.equal(getHeader(ack, 'To'), '<sip:bob@192.0.2.20>;tag=bob-1');
    assert.equal(getHeader(ack, 'Proxy-Authorization'), getHeader(invite, 'Proxy-Authorization'));
    assert.equal(dialog.localSeq, 101, 'the ACK consumes no CSeq');
    assert.equal(dialog.createRequest('BYE').cseq.seq, 102);
  });

  it('carries an answer body when given one', () => {
    const invite = recordRoutedInvite();
    const ok = okFor(invite);
    const dialog = Dialog.asUac(invite, ok, { via: VIA });
    const sdp = Buffer.from('v=0\r\n');
    const ack = dialog.createAck(invite, ok, { body: sdp, headers: [['Content-Type', 'application/sdp']] });
    assert.deepEqual(ack.body, sdp);
    assert.equal(getHeader(ack, 'Content-Type'), 'application/sdp');
  });

  it('refuses to ACK in an early dialog or for a 2xx of another dialog or INVITE', () => {
    const invite = recordRoutedInvite();
    const early = Dialog.asUac(invite, makeResponse(invite, 183, { toTag: 'bob-1' }), { via: VIA });
    assert.throws(() => early.createAck(invite, okFor(invite)), { code: 'SIP_DIALOG_STATE' });
    const dialog = Dialog.asUac(invite, okFor(invite), { via: VIA });
    assert.throws(() => dialog.createAck(invite, okFor(invite, 'other-fork')), { code: 'SIP_DIALOG_STATE' });
    const later = recordRoutedInvite({ cseq: 102 });
    assert.throws(() => dialog.createAck(invite, okFor(later)), { code: 'SIP_DIALOG_STATE' });
  });
});

describe('§13.3.1.4 2xx retransmission by the UAS core', () => {
  it('retransmits at 500 ms, 1.5 s, 3.5 s, then every 4 s, and reports no ACK at 64*T1 = 32 s', () => {
    const clock = new FakeClock();
    const retransmitted: number[] = [];
    const noAck: number[] = [];
    const retransmitter = new Uas2xxRetransmitter({
      clock,
      retransmit: () => retransmitted.push(clock.now()),
      onNoAck: () => noAck.push(clock.now()),
    });
    retransmitter.start();
    clock.advance(60_000);
    assert.deepEqual(retransmitted, [500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]);
    assert.deepEqual(noAck, [32_000]);
    assert.equal(retransmitter.state, 'gave-up');
    assert.equal(clock.pendingTimers(), 0);
  });

  it('stops retransmitting when the ACK arrives', () => {
    const clock = new FakeClock();
    const retransmitted: number[] = [];
    let noAck = false;
    const retransmitter = new Uas2xxRetransmitter({
      clock,
      retransmit: () => retransmitted.push(clock.now()),
      onNoAck: () => (noAck = true),
    });
    retransmitter.start();
    clock.advance(2000);
    retransmitter.acknowledge();
    clock.advance(60_000);
    assert.deepEqual(retransmitted, [500, 1500]);
    assert.equal(noAck, false);
    assert.equal(retransmitter.state, 'acknowledged');
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('forking (§12.1.2, §13.2.2.4)', () => {
  it('keeps one early dialog per To tag and confirms only the one the 2xx names', () => {
    const layer = new DialogLayer();
    const invite = recordRoutedInvite();
    const first = layer.receiveUacResponse(
      invite,
      makeResponse(invite, 180, { toTag: 'fork-a', headers: [['Contact', '<sip:a@192.0.2.31>']] }),
    );
    const second = layer.receiveUacResponse(
      invite,
      makeResponse(invite, 183, { toTag: 'fork-b', headers: [['Contact', '<sip:b@192.0.2.32>']] }),
    );
    assert.ok(first && second && first !== second);
    assert.deepEqual(
      layer.dialogsOf(invite.callId, 'a1').map((d) => `${d.remoteTag}:${d.state}`),
      ['fork-a:early', 'fork-b:early'],
    );
    const confirmed = layer.receiveUacResponse(invite, okFor(invite, 'fork-b', '<sip:b@192.0.2.32>'));
    assert.equal(confirmed, second);
    assert.equal(second.state, 'confirmed');
    assert.equal(first.state, 'early');
  });

  it('terminates every early dialog of the INVITE on a non-2xx final (§12.3)', () => {
    const layer = new DialogLayer();
    const invite = recordRoutedInvite();
    layer.receiveUacResponse(invite, makeResponse(invite, 180, { toTag: 'fork-a' }));
    layer.receiveUacResponse(invite, makeResponse(invite, 180, { toTag: 'fork-b' }));
    assert.equal(layer.size, 2);
    layer.receiveUacResponse(invite, makeResponse(invite, 486, { toTag: 'fork-c' }));
    assert.equal(layer.size, 0);
    assert.deepEqual(layer.dialogsOf(invite.callId, 'a1'), []);
  });
});
