/**
 * INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2). Requirements verified:
 *  - §17.1.1.2 states: Calling -> Proceeding on 1xx, -> Completed on 300–699, -> Accepted on 2xx;
 *    every 1xx and the final response reach the TU once; retransmitted finals do not;
 *  - §17.1.1.3 the ACK for 300–699: same Request-URI, Call-ID, From, CSeq number (method ACK),
 *    To of the response, a single Via equal to the original top Via, the original Route headers,
 *    sent to the same destination; a 2xx is never ACKed by the transaction;
 *  - RFC 6026: in Accepted only 2xx go to the TU;
 *  - §17.1.4 transport errors on the INVITE, a retransmission or the ACK -> TU, Terminated;
 *  - TU exceptions are isolated from the state machine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatVia, getHeader, getHeaderValues, requestUriText } from '../../../../src/sip/message/index.js';
import { ClientUserRecorder, makeLayer, makeRequest, makeResponse, settle, UDP_PEER, TCP_PEER } from './support.js';

function inviteWithRoutes() {
  return makeRequest({
    cseq: 314,
    uri: 'sip:bob@biloxi.example.com;transport=udp',
    route: ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'],
    contact: '<sip:alice@192.0.2.10>',
    extraHeaders: [['Subject', 'hello']],
  });
}

describe('InviteClientTransaction', () => {
  it('goes Calling -> Proceeding -> Completed and passes each provisional and the final once to the TU', () => {
    const { clock, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    assert.equal(tx.state, 'Calling');
    layer.receive(makeResponse(invite, 100), UDP_PEER);
    assert.equal(tx.state, 'Proceeding');
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    layer.receive(makeResponse(invite, 183), UDP_PEER);
    layer.receive(makeResponse(invite, 404), UDP_PEER);
    assert.equal(tx.state, 'Completed');
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    layer.receive(makeResponse(invite, 404), UDP_PEER);
    assert.deepEqual(user.summary(), ['response:100@0', 'response:180@0', 'response:183@0', 'response:404@0']);
  });

  it('builds the ACK for a 486 with exactly the §17.1.1.3 fields and sends it to the INVITE destination', () => {
    const { clock, recorder, layer } = makeLayer();
    const invite = inviteWithRoutes();
    layer.sendRequest(invite, UDP_PEER, new ClientUserRecorder(clock));
    const busy = makeResponse(invite, 486, { toTag: 'callee-tag' });
    layer.receive(busy, UDP_PEER);

    const [sent] = recorder.requests('ACK');
    assert.ok(sent);
    const ack = sent.message;
    assert.deepEqual(sent.destination, UDP_PEER);
    assert.equal(requestUriText(ack), requestUriText(invite));
    assert.equal(ack.via.length, 1);
    assert.equal(formatVia(ack.via[0]!), formatVia(invite.via[0]!));
    assert.equal(ack.via[0]!.branch, invite.via[0]!.branch);
    assert.equal(getHeader(ack, 'From'), getHeader(invite, 'From'));
    assert.equal(getHeader(ack, 'To'), getHeader(busy, 'To'));
    assert.equal(ack.to.params.get('tag'), 'callee-tag');
    assert.equal(ack.callId, invite.callId);
    assert.deepEqual(ack.cseq, { seq: 314, method: 'ACK' });
    assert.deepEqual(getHeaderValues(ack, 'Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(ack.maxForwards, 70);
    assert.equal(ack.body.length, 0);
    assert.deepEqual(
      ack.headers.map((h) => h.name),
      ['Via', 'Max-Forwards', 'Route', 'Route', 'From', 'To', 'Call-ID', 'CSeq', 'Content-Length'],
    );
  });

  it('ACKs every 3xx–6xx final and never a 2xx', () => {
    for (const status of [300, 302, 404, 486, 500, 503, 600, 603]) {
      const { clock, recorder, layer } = makeLayer();
      const invite = makeRequest();
      layer.sendRequest(invite, UDP_PEER, new ClientUserRecorder(clock));
      layer.receive(makeResponse(invite, status), UDP_PEER);
      assert.equal(recorder.requests('ACK').length, 1, `status ${status}`);
    }
    const { clock, recorder, layer } = makeLayer();
    const invite = makeRequest();
    layer.sendRequest(invite, UDP_PEER, new ClientUserRecorder(clock));
    layer.receive(makeResponse(invite, 200), UDP_PEER);
    assert.equal(recorder.requests('ACK').length, 0);
  });

  it('passes only 2xx to the TU in Accepted, from several forks, and sends no ACK itself (RFC 6026)', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    layer.receive(makeResponse(invite, 200, { toTag: 'fork-1' }), UDP_PEER);
    layer.receive(makeResponse(invite, 180, { toTag: 'fork-2' }), UDP_PEER);
    layer.receive(makeResponse(invite, 486, { toTag: 'fork-3' }), UDP_PEER);
    layer.receive(makeResponse(invite, 200, { toTag: 'fork-2' }), UDP_PEER);
    assert.equal(tx.state, 'Accepted');
    assert.deepEqual(
      user.events.flatMap((e) =>
        e.type === 'response' ? [`${e.status}/${String(e.response.to.params.get('tag'))}`] : [],
      ),
      ['200/fork-1', '200/fork-2'],
    );
    assert.equal(recorder.requests('ACK').length, 0);
  });

  it('reports a transport error on the first INVITE send to the TU and terminates', async () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const cause = new Error('ECONNREFUSED');
    recorder.failNext(1, cause);
    const tx = layer.sendRequest(makeRequest({ transport: 'TCP' }), TCP_PEER, user);
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
    const event = user.events[0];
    assert.ok(event?.type === 'transportError');
    assert.equal(event.error.code, 'SIP_TRANSPORT_ERROR');
    assert.equal(event.error.cause, cause);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
    assert.equal(clock.pendingTimers(), 0);
  });

  it('reports a transport error on a retransmission and stops retransmitting', async () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const tx = layer.sendRequest(makeRequest(), UDP_PEER, user);
    recorder.failNext();
    clock.advance(500);
    await settle();
    assert.equal(tx.state, 'Terminated');
    clock.advance(60_000);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0, 500]);
    assert.deepEqual(user.summary(), ['transportError@500', 'terminated@500']);
  });

  it('reports a transport error while sending the ACK in Completed and terminates', async () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    recorder.failNext();
    layer.receive(makeResponse(invite, 503), UDP_PEER);
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:503@0', 'transportError@0', 'terminated@0']);
  });

  it('isolates an exception thrown by the TU and keeps running the machine', () => {
    const { clock, layer, userErrors } = makeLayer();
    const boom = new Error('TU bug');
    const seen: number[] = [];
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, {
      onResponse: (response) => {
        seen.push(response.status);
        if (response.status === 180) throw boom;
      },
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    layer.receive(makeResponse(invite, 200), UDP_PEER);
    assert.deepEqual(seen, [180, 200]);
    assert.deepEqual(userErrors, [boom]);
    assert.equal(tx.state, 'Accepted');
    clock.advance(32_000);
    assert.equal(tx.state, 'Terminated');
  });

  it('terminates on terminate() with only onTerminated, and ignores later responses', () => {
    const { clock, layer, strayResponses } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    tx.terminate();
    tx.terminate();
    layer.receive(makeResponse(invite, 200), UDP_PEER);
    assert.deepEqual(user.summary(), ['terminated@0']);
    assert.equal(strayResponses.length, 1);
    assert.equal(clock.pendingTimers(), 0);
  });
});
