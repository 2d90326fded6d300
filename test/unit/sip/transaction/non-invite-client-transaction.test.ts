/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2). Requirements verified:
 *  - §17.1.2.2 Trying -> Proceeding on 1xx, -> Completed on 200–699; every 1xx in Trying and
 *    Proceeding and the first final reach the TU; responses in Completed are absorbed;
 *  - §17.1.4 transport errors -> TU, Terminated;
 *  - a CANCEL is its own transaction although it shares the INVITE's branch (§9.1, §17.1.3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCancel } from '../../../../src/sip/message/index.js';
import { ClientUserRecorder, makeLayer, makeRequest, makeResponse, settle, UDP_PEER } from './support.js';

describe('NonInviteClientTransaction', () => {
  it('passes provisionals and the first final to the TU and absorbs everything after it', () => {
    const { clock, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const register = makeRequest({ method: 'REGISTER' });
    const tx = layer.sendRequest(register, UDP_PEER, user);
    assert.equal(tx.state, 'Trying');
    layer.receive(makeResponse(register, 100), UDP_PEER);
    assert.equal(tx.state, 'Proceeding');
    layer.receive(makeResponse(register, 100), UDP_PEER);
    layer.receive(makeResponse(register, 401), UDP_PEER);
    assert.equal(tx.state, 'Completed');
    layer.receive(makeResponse(register, 401), UDP_PEER);
    layer.receive(makeResponse(register, 200), UDP_PEER);
    layer.receive(makeResponse(register, 100), UDP_PEER);
    assert.deepEqual(user.summary(), ['response:100@0', 'response:100@0', 'response:401@0']);
  });

  it('goes from Trying straight to Completed on a final response', () => {
    const { clock, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const bye = makeRequest({ method: 'BYE', toTag: 'b1' });
    const tx = layer.sendRequest(bye, UDP_PEER, user);
    layer.receive(makeResponse(bye, 200), UDP_PEER);
    assert.equal(tx.state, 'Completed');
  });

  it('reports a transport error on the request to the TU and terminates', async () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    recorder.failNext();
    const tx = layer.sendRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER, user);
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['transportError@0', 'terminated@0']);
    clock.advance(60_000);
    assert.equal(recorder.requests('OPTIONS').length, 1);
  });

  it('reports a transport error on a retransmission in Proceeding', async () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const options = makeRequest({ method: 'OPTIONS' });
    const tx = layer.sendRequest(options, UDP_PEER, user);
    layer.receive(makeResponse(options, 100), UDP_PEER);
    recorder.failNext();
    clock.advance(500);
    await settle();
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:100@0', 'transportError@500', 'terminated@500']);
  });

  it('runs a CANCEL as its own transaction next to the INVITE with the same branch', () => {
    const { clock, recorder, layer } = makeLayer();
    const inviteUser = new ClientUserRecorder(clock);
    const cancelUser = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const inviteTx = layer.sendRequest(invite, UDP_PEER, inviteUser);
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    const cancel = createCancel(invite);
    const cancelTx = layer.sendRequest(cancel, UDP_PEER, cancelUser);
    assert.equal(cancel.via[0]!.branch, invite.via[0]!.branch);
    assert.deepEqual(layer.size, { clients: 2, servers: 0 });
    layer.receive(makeResponse(cancel, 200), UDP_PEER);
    layer.receive(makeResponse(invite, 487), UDP_PEER);
    assert.equal(cancelTx.state, 'Completed');
    assert.equal(inviteTx.state, 'Completed');
    assert.deepEqual(cancelUser.summary(), ['response:200@0']);
    assert.deepEqual(inviteUser.summary(), ['response:180@0', 'response:487@0']);
    assert.equal(recorder.requests('ACK').length, 1);
  });
});
