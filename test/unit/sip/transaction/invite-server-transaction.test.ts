/**
 * INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1). Requirements verified:
 *  - §17.2.1 Proceeding: a retransmitted INVITE is answered with the most recent provisional
 *    (nothing before one exists); the automatic 100 Trying copies Timestamp (§8.2.6.1), has no
 *    To tag, and is not sent once the TU has answered;
 *  - §17.2.1 Completed: a retransmitted INVITE gets the final response again; further TU
 *    responses are discarded; ACK -> Confirmed (absorbing);
 *  - RFC 6026 Accepted: 2xx from the TU are sent (the TU's §13.3.1.4 retransmissions), 1xx
 *    discarded, INVITE retransmissions absorbed, ACKs passed to the TU (or the layer's stray path);
 *  - §17.2.4 transport errors -> TU, Terminated (in Accepted: TU only, Timer L still runs);
 *  - responses go to the destination chosen when the request arrived (§18.2.2).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNon2xxAck, getHeader } from '../../../../src/sip/message/index.js';
import type { Endpoint } from '../../../../src/sip/transport/transport.js';
import { makeLayer, makeRequest, makeResponse, serverUserRecorder, settle, UDP_PEER } from './support.js';

function statuses(recorder: ReturnType<typeof makeLayer>['recorder']): number[] {
  return recorder.responses().map((s) => s.message.status);
}

describe('InviteServerTransaction', () => {
  it('answers a retransmitted INVITE with nothing before any provisional, then with the most recent one', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    clock.advance(100);
    layer.receive(invite, UDP_PEER);
    assert.deepEqual(statuses(recorder), []);
    clock.advance(100); // automatic 100 Trying at 200 ms
    layer.receive(invite, UDP_PEER);
    assert.deepEqual(statuses(recorder), [100, 100]);
    incoming[0]!.transaction.respond(makeResponse(invite, 180));
    layer.receive(invite, UDP_PEER);
    assert.deepEqual(statuses(recorder), [100, 100, 180, 180]);
    assert.equal(incoming.length, 1);
  });

  it('builds the automatic 100 Trying from the request, copying Timestamp and adding no To tag', () => {
    const { clock, recorder, layer } = makeLayer();
    const invite = makeRequest({ extraHeaders: [['Timestamp', '54.3']] });
    layer.receive(invite, UDP_PEER);
    clock.advance(200);
    const trying = recorder.responses(100)[0]!.message;
    assert.equal(getHeader(trying, 'Timestamp'), '54.3');
    assert.equal(trying.to.params.has('tag'), false);
    assert.equal(getHeader(trying, 'Via'), getHeader(invite, 'Via'));
    assert.deepEqual(trying.cseq, invite.cseq);
    assert.equal(trying.callId, invite.callId);
  });

  it('resends the final response for a retransmitted INVITE in Completed and discards later TU responses', () => {
    const { recorder, layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    assert.equal(tx.respond(makeResponse(invite, 404)), true);
    layer.receive(invite, UDP_PEER);
    assert.equal(tx.respond(makeResponse(invite, 500)), false);
    assert.equal(tx.respond(makeResponse(invite, 200)), false);
    assert.equal(tx.respond(makeResponse(invite, 180)), false);
    assert.deepEqual(statuses(recorder), [404, 404]);
    assert.equal(tx.state, 'Completed');
  });

  it('absorbs INVITE and ACK retransmissions in Confirmed', () => {
    const { recorder, layer, incoming, strayAcks } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    const busy = makeResponse(invite, 486);
    tx.respond(busy);
    const ack = createNon2xxAck(invite, busy);
    layer.receive(ack, UDP_PEER);
    layer.receive(ack, UDP_PEER);
    layer.receive(invite, UDP_PEER);
    assert.equal(tx.state, 'Confirmed');
    assert.deepEqual(statuses(recorder), [486]);
    assert.equal(strayAcks.length, 0);
  });

  it('in Accepted sends further 2xx from the TU, discards provisionals and absorbs INVITE retransmissions', () => {
    const { recorder, layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    const ok = makeResponse(invite, 200);
    assert.equal(tx.respond(ok), true);
    assert.equal(tx.state, 'Accepted');
    assert.equal(tx.respond(ok), true, 'a 2xx retransmission from the TU is sent');
    assert.equal(tx.respond(makeResponse(invite, 180)), false);
    assert.equal(tx.respond(makeResponse(invite, 486)), false);
    layer.receive(invite, UDP_PEER);
    assert.deepEqual(statuses(recorder), [200, 200]);
  });

  it('passes an ACK that matched in Accepted to the TU (RFC 6026), or to onStrayAck when the TU has no onAck', () => {
    for (const withAck of [true, false]) {
      const { clock, layer, incoming, strayAcks } = makeLayer();
      const user = serverUserRecorder(clock, { withAck });
      const invite = makeRequest();
      layer.receive(invite, UDP_PEER);
      const tx = incoming[0]!.transaction;
      tx.attach(user);
      tx.respond(makeResponse(invite, 200));
      // An ACK for the 2xx that reuses the INVITE's branch (non-compliant but seen in the field).
      const ack = createNon2xxAck(invite, makeResponse(invite, 200));
      layer.receive(ack, UDP_PEER);
      assert.equal(tx.state, 'Accepted');
      if (withAck) {
        assert.deepEqual(user.summary(), ['ack@0']);
        assert.equal(strayAcks.length, 0);
      } else {
        assert.deepEqual(user.summary(), []);
        assert.equal(strayAcks.length, 1);
      }
    }
  });

  it('reports a transport error on the final response to the TU and stops Timer G', async () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    recorder.failNext();
    tx.respond(makeResponse(invite, 480));
    await settle();
    assert.equal(tx.state, 'Terminated');
    clock.advance(60_000);
    assert.deepEqual(statuses(recorder), [480]);
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
    const event = user.events[0];
    assert.ok(event?.type === 'transportError');
    assert.equal(event.error.code, 'SIP_TRANSPORT_ERROR');
  });

  it('reports a transport error on a provisional in Proceeding', async () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    recorder.failNext();
    tx.respond(makeResponse(invite, 180));
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
  });

  it('reports a transport error on a 2xx in Accepted but stays until Timer L, still absorbing INVITE retransmissions', async () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    const ok = makeResponse(invite, 200);
    tx.respond(ok);
    clock.advance(500);
    recorder.failNext();
    tx.respond(ok);
    await settle();
    assert.equal(tx.state, 'Accepted');
    layer.receive(invite, UDP_PEER);
    assert.equal(incoming.length, 1);
    clock.advance(31_500);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@500', 'terminated@32000']);
  });

  it('sends every response to the destination chosen when the request arrived', () => {
    const destination: Endpoint = { protocol: 'udp', address: '198.51.100.7', port: 40_000 };
    const { clock, recorder, layer, incoming } = makeLayer({ responseDestination: () => destination });
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    clock.advance(200);
    incoming[0]!.transaction.respond(makeResponse(invite, 486));
    clock.advance(500);
    assert.equal(recorder.sent.length, 3);
    for (const sent of recorder.sent) assert.deepEqual(sent.destination, destination);
  });

  it('refuses a response that does not answer its request (a TU bug)', () => {
    const { layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const other = makeRequest({ cseq: 2 });
    assert.throws(() => incoming[0]!.transaction.respond(makeResponse(other, 200)), /does not answer/);
    const otherBranch = makeRequest();
    assert.throws(() => incoming[0]!.transaction.respond(makeResponse(otherBranch, 200)), /branch/);
  });

  it('allows one TU only', () => {
    const { clock, layer, incoming } = makeLayer();
    layer.receive(makeRequest(), UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(serverUserRecorder(clock));
    assert.throws(() => tx.attach(serverUserRecorder(clock)));
  });
});
