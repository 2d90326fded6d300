/**
 * TransactionLayer matching and bookkeeping. Requirements verified:
 *  - §17.1.3 a response matches a client transaction by top Via branch AND CSeq method (a CANCEL
 *    shares the INVITE's branch); anything else is stray;
 *  - §17.2.3 with the magic cookie: branch + sent-by + method (ACK matches the INVITE); a request
 *    with the same branch from another sent-by/transport, or another method, is a new transaction;
 *  - §17.2.3 RFC 2543 fallback (no `z9hG4bK`): Request-URI, To tag, From tag, Call-ID, CSeq and
 *    top Via; the ACK by Request-URI, From tag, Call-ID, CSeq number, top Via and the To tag of the
 *    response sent;
 *  - §9.2 `cancelTarget` finds the INVITE server transaction a CANCEL refers to;
 *  - §8.1.1.7 branches: `z9hG4bK` + ≥ 96 random bits, token characters only;
 *  - §18.2.2 / RFC 3581 default response destination;
 *  - terminated transactions leave the maps; a TU exception in onRequest is answered with 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createCancel,
  createNon2xxAck,
  isToken,
  parseMessage,
  type SipRequest,
} from '../../../../src/sip/message/index.js';
import type { Endpoint } from '../../../../src/sip/transport/transport.js';
import {
  defaultResponseDestination,
  InviteServerTransaction,
  MAGIC_COOKIE,
  newBranch,
} from '../../../../src/sip/transaction/index.js';
import {
  ClientUserRecorder,
  makeLayer,
  makeRequest,
  makeResponse,
  serverUserRecorder,
  TCP_PEER,
  UDP_PEER,
} from './support.js';

describe('newBranch (§8.1.1.7)', () => {
  it('starts with the magic cookie, carries at least 96 random bits and is a token', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const branch = newBranch();
      assert.ok(branch.startsWith(MAGIC_COOKIE));
      assert.ok(isToken(branch));
      assert.ok(Buffer.from(branch.slice(MAGIC_COOKIE.length), 'base64url').length * 8 >= 96);
      seen.add(branch);
    }
    assert.equal(seen.size, 1000);
  });
});

describe('response matching (§17.1.3)', () => {
  it('matches by top Via branch and CSeq method, and hands the rest to onStrayResponse', () => {
    const { clock, layer, strayResponses } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    layer.sendRequest(invite, UDP_PEER, user);
    layer.receive(makeResponse(makeRequest(), 180), UDP_PEER); // another branch
    layer.receive(makeResponse(createCancel(invite), 200), UDP_PEER); // same branch, CSeq CANCEL
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    assert.deepEqual(user.summary(), ['response:180@0']);
    assert.deepEqual(
      strayResponses.map((r) => `${r.status} ${r.cseq.method}`),
      ['180 INVITE', '200 CANCEL'],
    );
  });

  it('treats a response without a Via branch as stray', () => {
    const { clock, layer, strayResponses } = makeLayer();
    layer.sendRequest(makeRequest(), UDP_PEER, new ClientUserRecorder(clock));
    layer.receive(makeResponse(makeRequest({ branch: null }), 200), UDP_PEER);
    assert.equal(strayResponses.length, 1);
  });

  it('isolates an exception thrown by onStrayResponse', () => {
    const boom = new Error('stray bug');
    const { layer, userErrors } = makeLayer({
      onStrayResponse: () => {
        throw boom;
      },
    });
    layer.receive(makeResponse(makeRequest(), 200), UDP_PEER);
    assert.deepEqual(userErrors, [boom]);
  });
});

describe('request matching with the magic cookie (§17.2.3)', () => {
  it('passes a retransmission (same branch, sent-by and method) to the existing transaction, not the TU', () => {
    const { layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    layer.receive(invite, UDP_PEER);
    assert.equal(incoming.length, 1);
    assert.deepEqual(layer.size, { clients: 0, servers: 1 });
  });

  it('compares the sent-by host case-insensitively', () => {
    const { layer, incoming } = makeLayer();
    const branch = newBranch();
    layer.receive(makeRequest({ branch, sentBy: 'pbx.example.com:5060' }), UDP_PEER);
    layer.receive(makeRequest({ branch, sentBy: 'PBX.Example.COM:5060' }), UDP_PEER);
    assert.equal(incoming.length, 1);
  });

  it('does not match the same branch arriving over another transport from another sent-by', () => {
    const { layer, incoming } = makeLayer();
    const branch = newBranch();
    layer.receive(makeRequest({ branch, transport: 'UDP', sentBy: '192.0.2.10:5060' }), UDP_PEER);
    layer.receive(makeRequest({ branch, transport: 'TCP', sentBy: '192.0.2.10:5070' }), TCP_PEER);
    assert.equal(incoming.length, 2);
    assert.notEqual(incoming[0]!.transaction, incoming[1]!.transaction);
  });

  it('does not match the same branch and sent-by with another method', () => {
    const { layer, incoming } = makeLayer();
    const branch = newBranch();
    layer.receive(makeRequest({ branch, method: 'OPTIONS' }), UDP_PEER);
    layer.receive(makeRequest({ branch, method: 'INFO' }), UDP_PEER);
    assert.deepEqual(
      incoming.map((i) => i.transaction.method),
      ['OPTIONS', 'INFO'],
    );
  });

  it('matches an ACK for a non-2xx to the INVITE server transaction, which absorbs it', () => {
    const { layer, incoming, strayAcks } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const busy = makeResponse(invite, 486);
    incoming[0]!.transaction.respond(busy);
    layer.receive(createNon2xxAck(invite, busy), UDP_PEER);
    assert.equal(incoming[0]!.transaction.state, 'Confirmed');
    assert.equal(strayAcks.length, 0);
    assert.equal(incoming.length, 1, 'an ACK never creates a server transaction');
  });

  it('hands an ACK with its own branch (the ACK for a 2xx) to onStrayAck', () => {
    const { layer, incoming, strayAcks } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    incoming[0]!.transaction.respond(makeResponse(invite, 200));
    const ack = makeRequest({ method: 'ACK', toTag: 'b1' });
    layer.receive(ack, UDP_PEER);
    assert.deepEqual(strayAcks, [ack]);
    assert.equal(incoming[0]!.transaction.state, 'Accepted');
  });

  it('gives a CANCEL its own non-INVITE server transaction and finds the INVITE it cancels', () => {
    const { clock, recorder, layer, incoming } = makeLayer({
      onIncoming: ({ request, transaction }) => {
        if (request.method !== 'CANCEL') return;
        const target = layer.cancelTarget(request);
        transaction.respond(makeResponse(request, target === undefined ? 481 : 200));
        if (target !== undefined) target.respond(makeResponse(target.request, 487));
      },
    });
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    clock.advance(200);
    layer.receive(createCancel(invite), UDP_PEER);
    assert.deepEqual(
      incoming.map((i) => i.transaction.method),
      ['INVITE', 'CANCEL'],
    );
    assert.ok(incoming[0]!.transaction instanceof InviteServerTransaction);
    assert.deepEqual(
      recorder.responses().map((s) => `${s.message.status} ${s.message.cseq.method}`),
      ['100 INVITE', '200 CANCEL', '487 INVITE'],
    );
    assert.equal(incoming[0]!.transaction.state, 'Completed');
  });

  it('finds no cancel target for a CANCEL from another sent-by or for an unknown INVITE', () => {
    const { layer } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const foreign = makeRequest({ method: 'CANCEL', branch: invite.via[0]!.branch!, sentBy: '203.0.113.5:5060' });
    assert.equal(layer.cancelTarget(foreign), undefined);
    assert.equal(layer.cancelTarget(createCancel(makeRequest())), undefined);
    assert.ok(layer.cancelTarget(createCancel(invite)));
  });
});

describe('request matching for RFC 2543 peers (§17.2.3, no magic cookie)', () => {
  const legacy = (init: Parameters<typeof makeRequest>[0] = {}): SipRequest =>
    makeRequest({ branch: null, callId: 'legacy-1@192.0.2.30', sentBy: '192.0.2.30:5060', ...init });

  it('matches a retransmitted INVITE by Request-URI, tags, Call-ID, CSeq and top Via', () => {
    const { layer, incoming } = makeLayer();
    layer.receive(legacy(), UDP_PEER);
    layer.receive(legacy(), UDP_PEER);
    assert.equal(incoming.length, 1);
  });

  it('treats a non-cookie branch like no branch', () => {
    const { layer, incoming } = makeLayer();
    layer.receive(legacy({ branch: '1234abcd' }), UDP_PEER);
    layer.receive(legacy({ branch: '1234abcd' }), UDP_PEER);
    layer.receive(legacy({ branch: '1234abce' }), UDP_PEER);
    assert.equal(incoming.length, 2, 'the top Via (with its branch) is part of the key');
  });

  it('creates a new transaction when any of the compared fields differs', () => {
    const variants = [
      { cseq: 2 },
      { fromTag: 'other' },
      { toTag: 'x' },
      { callId: 'legacy-2@192.0.2.30' },
      { uri: 'sip:carol@192.0.2.20' },
      { sentBy: '192.0.2.30:5070' },
    ];
    for (const variant of variants) {
      const { layer, incoming } = makeLayer();
      layer.receive(legacy(), UDP_PEER);
      layer.receive(legacy(variant), UDP_PEER);
      assert.equal(incoming.length, 2, JSON.stringify(variant));
    }
  });

  it('matches a non-INVITE retransmission including the method', () => {
    const { layer, incoming } = makeLayer();
    layer.receive(legacy({ method: 'OPTIONS' }), UDP_PEER);
    layer.receive(legacy({ method: 'OPTIONS' }), UDP_PEER);
    assert.equal(incoming.length, 1);
  });

  it('matches the ACK by the To tag of the response sent, and not with another To tag', () => {
    const { layer, incoming, strayAcks } = makeLayer();
    const invite = legacy();
    layer.receive(invite, UDP_PEER);
    const busy = makeResponse(invite, 486, { toTag: 'srv-tag' });
    incoming[0]!.transaction.respond(busy);
    layer.receive(legacy({ method: 'ACK', toTag: 'wrong-tag' }), UDP_PEER);
    assert.equal(strayAcks.length, 1);
    assert.equal(incoming[0]!.transaction.state, 'Completed');
    layer.receive(legacy({ method: 'ACK', toTag: 'srv-tag' }), UDP_PEER);
    assert.equal(incoming[0]!.transaction.state, 'Confirmed');
    assert.equal(strayAcks.length, 1);
  });

  it('finds the INVITE a legacy CANCEL refers to', () => {
    const { layer } = makeLayer();
    const invite = legacy();
    layer.receive(invite, UDP_PEER);
    assert.ok(layer.cancelTarget(createCancel(invite)));
    assert.equal(layer.cancelTarget(createCancel(legacy({ cseq: 9 }))), undefined);
  });

  it('forgets the legacy ACK key when the transaction terminates', () => {
    const { clock, layer, incoming, strayAcks } = makeLayer();
    const invite = legacy();
    layer.receive(invite, UDP_PEER);
    incoming[0]!.transaction.respond(makeResponse(invite, 486, { toTag: 'srv-tag' }));
    clock.advance(32_000);
    assert.equal(incoming[0]!.transaction.state, 'Terminated');
    layer.receive(legacy({ method: 'ACK', toTag: 'srv-tag' }), UDP_PEER);
    assert.equal(strayAcks.length, 1);
  });
});

describe('TransactionLayer bookkeeping', () => {
  it('refuses ACK, branches without the magic cookie and duplicate branch+method in sendRequest', () => {
    const { clock, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    assert.throws(() => layer.sendRequest(makeRequest({ method: 'ACK' }), UDP_PEER, user), /ACK/);
    assert.throws(() => layer.sendRequest(makeRequest({ branch: 'abc' }), UDP_PEER, user), /z9hG4bK/);
    assert.throws(() => layer.sendRequest(makeRequest({ branch: null }), UDP_PEER, user), /z9hG4bK/);
    const invite = makeRequest();
    layer.sendRequest(invite, UDP_PEER, user);
    assert.throws(() => layer.sendRequest(invite, UDP_PEER, user), /exists/);
  });

  it('removes terminated transactions from its maps', () => {
    const { clock, layer, incoming } = makeLayer();
    const options = makeRequest({ method: 'OPTIONS' });
    layer.sendRequest(options, UDP_PEER, new ClientUserRecorder(clock));
    layer.receive(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    incoming[0]!.transaction.respond(makeResponse(incoming[0]!.request, 200));
    assert.deepEqual(layer.size, { clients: 1, servers: 1 });
    layer.receive(makeResponse(options, 200), UDP_PEER);
    clock.advance(5000);
    assert.deepEqual(layer.size, { clients: 0, servers: 1 });
    clock.advance(27_000);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
    assert.equal(clock.pendingTimers(), 0);
  });

  it('treats a request after its transaction ended as new (the TU sees it again)', () => {
    const { clock, layer, incoming } = makeLayer();
    const options = makeRequest({ method: 'OPTIONS', transport: 'TCP' });
    layer.receive(options, TCP_PEER);
    incoming[0]!.transaction.respond(makeResponse(options, 200));
    layer.receive(options, TCP_PEER);
    assert.equal(incoming.length, 2);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('answers 500 when onRequest throws, and reports the exception', () => {
    const boom = new Error('TU bug');
    const { recorder, layer, userErrors } = makeLayer({
      onIncoming: () => {
        throw boom;
      },
    });
    layer.receive(makeRequest(), UDP_PEER);
    assert.deepEqual(userErrors, [boom]);
    const [sent] = recorder.responses(500);
    assert.ok(sent);
    assert.ok(sent.message.to.params.get('tag'), 'the 500 carries a To tag');
  });

  it('terminates everything on close(), telling TUs only onTerminated, and ignores later input', () => {
    const { clock, layer, incoming } = makeLayer();
    const client = new ClientUserRecorder(clock);
    layer.sendRequest(makeRequest(), UDP_PEER, client);
    layer.receive(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    const server = serverUserRecorder(clock);
    incoming[0]!.transaction.attach(server);
    layer.close();
    layer.close();
    assert.deepEqual(client.summary(), ['terminated@0']);
    assert.deepEqual(server.summary(), ['terminated@0']);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
    assert.equal(clock.pendingTimers(), 0);
    layer.receive(makeRequest(), UDP_PEER);
    assert.equal(incoming.length, 1);
    assert.throws(() => layer.sendRequest(makeRequest(), UDP_PEER, client), /closed/);
  });

  it('sends stateless messages and turns send failures into SIP_TRANSPORT_ERROR', async () => {
    const { recorder, layer } = makeLayer();
    const ack = makeRequest({ method: 'ACK', toTag: 'b1' });
    await layer.sendStateless(ack, UDP_PEER);
    assert.equal(recorder.requests('ACK').length, 1);
    recorder.failNext();
    await assert.rejects(layer.sendStateless(ack, UDP_PEER), { code: 'SIP_TRANSPORT_ERROR' });
  });
});

describe('defaultResponseDestination (§18.2.2, RFC 3581)', () => {
  const source: Endpoint = { protocol: 'udp', address: '203.0.113.9', port: 34_567 };
  const via = (value: string): SipRequest => {
    const text = `OPTIONS sip:b@192.0.2.20 SIP/2.0\r\nVia: ${value}\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    const parsed = parseMessage(text);
    assert.ok(parsed.ok && parsed.message.kind === 'request');
    return parsed.message;
  };

  it('answers over the same connection on reliable transports', () => {
    const tcp: Endpoint = { protocol: 'tcp', address: '203.0.113.9', port: 50_000 };
    assert.deepEqual(defaultResponseDestination(via('SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKx'), tcp), tcp);
  });

  it('uses received and the rport value', () => {
    assert.deepEqual(
      defaultResponseDestination(
        via('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;received=203.0.113.9;rport=34567'),
        source,
      ),
      { protocol: 'udp', address: '203.0.113.9', port: 34_567 },
    );
  });

  it('uses the source port for an rport without value', () => {
    assert.deepEqual(defaultResponseDestination(via('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport'), source), {
      protocol: 'udp',
      address: '203.0.113.9',
      port: 34_567,
    });
  });

  it('uses the sent-by port without rport, and 5060 without a port', () => {
    assert.deepEqual(defaultResponseDestination(via('SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx'), source), {
      protocol: 'udp',
      address: '203.0.113.9',
      port: 5070,
    });
    assert.deepEqual(
      defaultResponseDestination(via('SIP/2.0/UDP pbx.example.com;branch=z9hG4bKx;received=198.51.100.1'), source),
      {
        protocol: 'udp',
        address: '198.51.100.1',
        port: 5060,
      },
    );
  });
});
