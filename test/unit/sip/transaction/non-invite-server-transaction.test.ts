/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2). Requirements verified:
 *  - Trying: request retransmissions are discarded; a 1xx from the TU -> Proceeding;
 *  - Proceeding: a retransmission gets the most recent provisional again;
 *  - Completed: a retransmission gets the final response again; other TU responses are discarded;
 *  - §17.2.4 transport errors in Proceeding/Completed -> TU, Terminated.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeLayer, makeRequest, makeResponse, serverUserRecorder, settle, UDP_PEER } from './support.js';

describe('NonInviteServerTransaction', () => {
  it('discards retransmissions in Trying, then resends the latest provisional in Proceeding', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const subscribe = makeRequest({ method: 'SUBSCRIBE' });
    layer.receive(subscribe, UDP_PEER);
    const tx = incoming[0]!.transaction;
    assert.equal(tx.state, 'Trying');
    clock.advance(500);
    layer.receive(subscribe, UDP_PEER);
    assert.equal(recorder.sent.length, 0, 'no automatic 100 for non-INVITE and nothing to resend');
    tx.respond(makeResponse(subscribe, 100));
    assert.equal(tx.state, 'Proceeding');
    layer.receive(subscribe, UDP_PEER);
    assert.deepEqual(recorder.responseTimes(100), [500, 500]);
    assert.equal(incoming.length, 1);
  });

  it('resends the final response for each retransmission in Completed and discards later TU responses', () => {
    const { recorder, layer, incoming } = makeLayer();
    const bye = makeRequest({ method: 'BYE', toTag: 'b1' });
    layer.receive(bye, UDP_PEER);
    const tx = incoming[0]!.transaction;
    assert.equal(tx.respond(makeResponse(bye, 200)), true);
    assert.equal(tx.state, 'Completed');
    assert.equal(tx.respond(makeResponse(bye, 500)), false);
    assert.equal(tx.respond(makeResponse(bye, 100)), false);
    layer.receive(bye, UDP_PEER);
    layer.receive(bye, UDP_PEER);
    assert.deepEqual(
      recorder.responses().map((s) => s.message.status),
      [200, 200, 200],
    );
    assert.equal(tx.finalResponse?.status, 200);
  });

  it('reports a transport error on the final response to the TU and terminates', async () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const info = makeRequest({ method: 'INFO', toTag: 'b1' });
    layer.receive(info, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    recorder.failNext();
    tx.respond(makeResponse(info, 200));
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
  });

  it('reports a transport error on a provisional in Proceeding', async () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const message = makeRequest({ method: 'MESSAGE' });
    layer.receive(message, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    recorder.failNext();
    tx.respond(makeResponse(message, 100));
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
  });
});
