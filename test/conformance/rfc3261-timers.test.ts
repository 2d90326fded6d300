/**
 * RFC 3261 §17 transaction timers (Table 4) and RFC 6026 Timers L/M, on virtual time, through
 * the TransactionLayer. Requirements verified (T1 = 500 ms, T2 = 4 s, T4 = 5 s unless stated):
 *  - Table 4 values for unreliable and reliable transports; A/E/G never run on reliable ones;
 *  - §17.1.1.2 INVITE client: Timer A retransmits at T1 doubling (no cap) while Calling; Timer B
 *    times out at 64*T1; a provisional stops retransmissions; Timer D ≥ 32 s (UDP) / 0 (TCP);
 *  - RFC 6026 §8.4 INVITE client: Accepted lasts Timer M = 64*T1;
 *  - §17.1.2.2 non-INVITE client: Timer E doubles up to T2 in Trying, is T2 in Proceeding;
 *    Timer F at 64*T1 in Trying and Proceeding; Timer K = T4 (UDP) / 0 (TCP);
 *  - §17.2.1 INVITE server: 100 Trying after 200 ms; Timer G doubles up to T2; Timer H at 64*T1;
 *    Timer I = T4 (UDP) / 0 (TCP); RFC 6026 §8.7 Accepted lasts Timer L = 64*T1 and sends nothing;
 *  - §17.2.2 non-INVITE server: Timer J = 64*T1 (UDP) / 0 (TCP);
 *  - timer values scale with a configured T1/T2.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNon2xxAck } from '../../src/sip/message/index.js';
import { resolveTimerConfig, transactionTimers, type ServerTransaction } from '../../src/sip/transaction/index.js';
import {
  ClientUserRecorder,
  makeLayer,
  makeRequest,
  makeResponse,
  serverUserRecorder,
  TCP_PEER,
  UDP_PEER,
} from '../unit/sip/transaction/support.js';

describe('RFC 3261 Table 4 timer values', () => {
  it('derives A–M from T1/T2/T4 for unreliable transports', () => {
    const t = transactionTimers(resolveTimerConfig(), false);
    assert.deepEqual(
      [
        t.TIMER_A,
        t.TIMER_B,
        t.TIMER_D,
        t.TIMER_E,
        t.TIMER_F,
        t.TIMER_G,
        t.TIMER_H,
        t.TIMER_I,
        t.TIMER_J,
        t.TIMER_K,
        t.TIMER_L,
        t.TIMER_M,
      ],
      [500, 32_000, 32_000, 500, 32_000, 500, 32_000, 5000, 32_000, 5000, 32_000, 32_000],
    );
  });

  it('has no retransmission timers and zero D, I, J, K on reliable transports', () => {
    const t = transactionTimers(resolveTimerConfig(), true);
    assert.deepEqual([t.TIMER_A, t.TIMER_E, t.TIMER_G], [undefined, undefined, undefined]);
    assert.deepEqual([t.TIMER_D, t.TIMER_I, t.TIMER_J, t.TIMER_K], [0, 0, 0, 0]);
    assert.deepEqual([t.TIMER_B, t.TIMER_F, t.TIMER_H, t.TIMER_L, t.TIMER_M], [32_000, 32_000, 32_000, 32_000, 32_000]);
  });

  it('keeps Timer D at least 32 s and at least 64*T1 when T1 is raised', () => {
    assert.equal(transactionTimers(resolveTimerConfig({ t1Ms: 100 }), false).TIMER_D, 32_000);
    assert.equal(transactionTimers(resolveTimerConfig({ t1Ms: 1000, t2Ms: 8000 }), false).TIMER_D, 64_000);
  });

  it('rejects a T2 below T1 and non-positive values', () => {
    assert.throws(() => resolveTimerConfig({ t1Ms: 5000, t2Ms: 4000 }));
    assert.throws(() => resolveTimerConfig({ t4Ms: 0 }));
  });
});

describe('INVITE client transaction timers (§17.1.1.2, RFC 6026)', () => {
  it('retransmits INVITE at 500 ms, 1.5 s, 3.5 s, 7.5 s, 15.5 s, 31.5 s and times out with Timer B at 32 s (UDP)', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const tx = layer.sendRequest(makeRequest(), UDP_PEER, user);
    clock.advance(40_000);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0, 500, 1500, 3500, 7500, 15_500, 31_500]);
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
    assert.equal(clock.pendingTimers(), 0);
  });

  it('sends INVITE once over TCP and still times out with Timer B at 32 s', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    layer.sendRequest(makeRequest({ transport: 'TCP' }), TCP_PEER, user);
    clock.advance(40_000);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0]);
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
  });

  it('stops retransmitting INVITE when a provisional arrives and runs no Timer B in Proceeding', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    clock.advance(600);
    layer.receive(makeResponse(invite, 180), UDP_PEER);
    clock.advance(120_000);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0, 500]);
    assert.deepEqual(user.summary(), ['response:180@600']);
    assert.equal(tx.state, 'Proceeding');
    assert.equal(clock.pendingTimers(), 0);
  });

  it('scales Timer A and Timer B with T1 = 100 ms', () => {
    const { clock, recorder, layer } = makeLayer({ timers: { t1Ms: 100 } });
    const user = new ClientUserRecorder(clock);
    layer.sendRequest(makeRequest(), UDP_PEER, user);
    clock.advance(10_000);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0, 100, 300, 700, 1500, 3100, 6300]);
    assert.deepEqual(user.summary(), ['timeout@6400', 'terminated@6400']);
  });

  it('keeps Completed for Timer D = 32 s after ACKing a 486 over UDP, re-ACKing each retransmitted 486', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    const busy = makeResponse(invite, 486);
    clock.advance(100);
    layer.receive(busy, UDP_PEER);
    clock.advance(900);
    layer.receive(busy, UDP_PEER);
    clock.advance(2000);
    layer.receive(busy, UDP_PEER);
    assert.equal(tx.state, 'Completed');
    assert.deepEqual(recorder.requestTimes('ACK'), [100, 1000, 3000]);
    clock.advance(32_100 - clock.now() - 1);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:486@100', 'terminated@32100']);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0]);
  });

  it('terminates right after ACKing a 486 over TCP (Timer D = 0)', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest({ transport: 'TCP' });
    const tx = layer.sendRequest(invite, TCP_PEER, user);
    clock.advance(100);
    layer.receive(makeResponse(invite, 486), TCP_PEER);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(recorder.requestTimes('ACK'), [100]);
    assert.deepEqual(user.summary(), ['response:486@100', 'terminated@100']);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('stays Accepted for Timer M = 32 s after a 2xx, passing 2xx retransmissions to the TU (RFC 6026)', () => {
    const { clock, recorder, layer, strayResponses } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const invite = makeRequest();
    const tx = layer.sendRequest(invite, UDP_PEER, user);
    const ok = makeResponse(invite, 200);
    clock.advance(1000);
    layer.receive(ok, UDP_PEER);
    assert.equal(tx.state, 'Accepted');
    clock.advance(500);
    layer.receive(ok, UDP_PEER);
    clock.advance(31_499);
    assert.equal(tx.state, 'Accepted');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:200@1000', 'response:200@1500', 'terminated@33000']);
    assert.deepEqual(recorder.requestTimes('INVITE'), [0, 500], 'no retransmission after the 2xx');
    assert.equal(recorder.requests('ACK').length, 0, 'the transaction never ACKs a 2xx');
    layer.receive(ok, UDP_PEER);
    assert.equal(strayResponses.length, 1, 'a 2xx after Timer M is stray');
  });
});

describe('non-INVITE client transaction timers (§17.1.2.2)', () => {
  it('retransmits at 500 ms, 1.5 s, 3.5 s, then every 4 s (Timer E capped at T2) until Timer F at 32 s (UDP)', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    layer.sendRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER, user);
    clock.advance(40_000);
    assert.deepEqual(
      recorder.requestTimes('OPTIONS'),
      [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
    );
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
  });

  it('retransmits every T2 in Proceeding and still times out with Timer F at 32 s', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const bye = makeRequest({ method: 'BYE', toTag: 'b1' });
    const tx = layer.sendRequest(bye, UDP_PEER, user);
    clock.advance(600);
    layer.receive(makeResponse(bye, 100), UDP_PEER);
    assert.equal(tx.state, 'Proceeding');
    clock.advance(40_000);
    // Timer E keeps its 1 s interval from Trying (fires at 1.5 s), then is reset to T2.
    assert.deepEqual(recorder.requestTimes('BYE'), [0, 500, 1500, 5500, 9500, 13_500, 17_500, 21_500, 25_500, 29_500]);
    assert.deepEqual(user.summary(), ['response:100@600', 'timeout@32000', 'terminated@32000']);
  });

  it('sends once over TCP and times out with Timer F at 32 s', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    layer.sendRequest(makeRequest({ method: 'OPTIONS', transport: 'TCP' }), TCP_PEER, user);
    clock.advance(40_000);
    assert.deepEqual(recorder.requestTimes('OPTIONS'), [0]);
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
  });

  it('keeps Completed for Timer K = T4 (5 s) over UDP, absorbing retransmitted finals', () => {
    const { clock, recorder, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const options = makeRequest({ method: 'OPTIONS' });
    const tx = layer.sendRequest(options, UDP_PEER, user);
    const ok = makeResponse(options, 200);
    clock.advance(700);
    layer.receive(ok, UDP_PEER);
    clock.advance(1000);
    layer.receive(ok, UDP_PEER);
    clock.advance(3999);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:200@700', 'terminated@5700']);
    assert.deepEqual(recorder.requestTimes('OPTIONS'), [0, 500], 'no retransmission in Completed');
  });

  it('terminates at once on a final response over TCP (Timer K = 0)', () => {
    const { clock, layer } = makeLayer();
    const user = new ClientUserRecorder(clock);
    const options = makeRequest({ method: 'OPTIONS', transport: 'TCP' });
    const tx = layer.sendRequest(options, TCP_PEER, user);
    clock.advance(50);
    layer.receive(makeResponse(options, 404), TCP_PEER);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['response:404@50', 'terminated@50']);
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('INVITE server transaction timers (§17.2.1, RFC 6026)', () => {
  it('sends 100 Trying after 200 ms when the TU has not responded (UDP and TCP)', () => {
    for (const [peer, transport] of [
      [UDP_PEER, 'UDP'],
      [TCP_PEER, 'TCP'],
    ] as const) {
      const { clock, recorder, layer } = makeLayer();
      layer.receive(makeRequest({ transport }), peer);
      clock.advance(199);
      assert.equal(recorder.responses(100).length, 0);
      clock.advance(1);
      assert.deepEqual(recorder.responseTimes(100), [200]);
      clock.advance(10_000);
      assert.deepEqual(recorder.responseTimes(100), [200], 'sent once');
    }
  });

  it('sends no 100 Trying when the TU answers 180 within 200 ms', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    clock.advance(150);
    incoming[0]!.transaction.respond(makeResponse(invite, 180));
    clock.advance(1000);
    assert.deepEqual(
      recorder.sent.map((s) => (s.message.kind === 'response' ? s.message.status : 0)),
      [180],
    );
  });

  it('retransmits a 486 at 500 ms, 1.5 s, 3.5 s, then every 4 s (Timer G capped at T2) and reports no ACK at Timer H = 32 s', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    tx.respond(makeResponse(invite, 486));
    clock.advance(40_000);
    assert.deepEqual(
      recorder.responseTimes(486),
      [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
    );
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
  });

  it('sends a 486 once over TCP and still reports no ACK at Timer H = 32 s', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest({ transport: 'TCP' });
    layer.receive(invite, TCP_PEER);
    incoming[0]!.transaction.attach(user);
    incoming[0]!.transaction.respond(makeResponse(invite, 486));
    clock.advance(40_000);
    assert.deepEqual(recorder.responseTimes(486), [0]);
    assert.deepEqual(user.summary(), ['timeout@32000', 'terminated@32000']);
  });

  it('stops Timer G on ACK, absorbs ACK retransmissions in Confirmed, and terminates after Timer I = T4 (UDP)', () => {
    const { clock, recorder, layer, incoming, strayAcks } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    const busy = makeResponse(invite, 486);
    tx.respond(busy);
    clock.advance(1600);
    const ack = createNon2xxAck(invite, busy);
    layer.receive(ack, UDP_PEER);
    assert.equal(tx.state, 'Confirmed');
    clock.advance(1000);
    layer.receive(ack, UDP_PEER);
    layer.receive(invite, UDP_PEER);
    clock.advance(3999);
    assert.equal(tx.state, 'Confirmed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(recorder.responseTimes(486), [0, 500, 1500], 'nothing after the ACK');
    assert.deepEqual(user.summary(), ['terminated@6600']);
    assert.equal(strayAcks.length, 0);
  });

  it('terminates on ACK over TCP (Timer I = 0)', () => {
    const { clock, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest({ transport: 'TCP' });
    layer.receive(invite, TCP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    const busy = makeResponse(invite, 486);
    tx.respond(busy);
    clock.advance(30);
    layer.receive(createNon2xxAck(invite, busy), TCP_PEER);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['terminated@30']);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('sends a 2xx once, absorbs INVITE retransmissions in Accepted, and terminates after Timer L = 32 s (RFC 6026)', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const invite = makeRequest();
    layer.receive(invite, UDP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    clock.advance(300);
    tx.respond(makeResponse(invite, 200));
    assert.equal(tx.state, 'Accepted');
    clock.advance(500);
    layer.receive(invite, UDP_PEER);
    clock.advance(31_499);
    assert.equal(tx.state, 'Accepted');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(recorder.responseTimes(200), [300], 'the transaction never retransmits a 2xx');
    assert.deepEqual(recorder.responseTimes(100), [200]);
    assert.equal(incoming.length, 1, 'the retransmitted INVITE is not a new request');
    assert.deepEqual(user.summary(), ['terminated@32300']);
  });
});

describe('non-INVITE server transaction timers (§17.2.2)', () => {
  it('keeps Completed for Timer J = 64*T1 over UDP, answering retransmissions with the final response', () => {
    const { clock, recorder, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const options = makeRequest({ method: 'OPTIONS' });
    layer.receive(options, UDP_PEER);
    const tx: ServerTransaction = incoming[0]!.transaction;
    tx.attach(user);
    clock.advance(10);
    tx.respond(makeResponse(options, 200));
    clock.advance(490);
    layer.receive(options, UDP_PEER);
    clock.advance(31_509);
    assert.equal(tx.state, 'Completed');
    clock.advance(1);
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(recorder.responseTimes(200), [10, 500]);
    assert.deepEqual(user.summary(), ['terminated@32010']);
    assert.deepEqual(layer.size, { clients: 0, servers: 0 });
  });

  it('terminates at once after the final response over TCP (Timer J = 0)', () => {
    const { clock, layer, incoming } = makeLayer();
    const user = serverUserRecorder(clock);
    const options = makeRequest({ method: 'OPTIONS', transport: 'TCP' });
    layer.receive(options, TCP_PEER);
    const tx = incoming[0]!.transaction;
    tx.attach(user);
    tx.respond(makeResponse(options, 200));
    assert.equal(tx.state, 'Terminated');
    assert.deepEqual(user.summary(), ['terminated@0']);
    assert.equal(clock.pendingTimers(), 0);
  });
});
