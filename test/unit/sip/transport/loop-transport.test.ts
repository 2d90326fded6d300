/**
 * LoopNetwork / LoopTransport, the in-memory network the protocol tests run on: several hosts by
 * address:port; deliveries timed by an injected clock; loss and random delay decided by a seeded
 * PRNG, so the same seed gives the same fate; reliable (TCP-like) hosts lose nothing and keep
 * order; unreachable datagrams vanish while unreachable streams reject; fault-injection filters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { LoopNetwork, type LoopConditions, type LoopTransport } from '../../../../src/sip/transport/index.js';
import { FakeClock } from './fake-clock.js';
import { Inbox } from './helpers.js';

function isAppError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code;
}

interface Run {
  readonly arrivals: Array<readonly [index: number, at: number]>;
  readonly lost: number;
}

async function run(seed: number, conditions: LoopConditions, reliable = false, count = 200): Promise<Run> {
  const clock = new FakeClock();
  const network = new LoopNetwork({ clock, seed, ...conditions });
  const arrivals: Array<readonly [number, number]> = [];
  const a = network.createTransport({ address: '10.0.0.1', port: 5060, reliable, handlers: new Inbox().handlers });
  network.createTransport({
    address: '10.0.0.2',
    port: 5060,
    reliable,
    handlers: { onData: (inbound) => arrivals.push([Number(inbound.data.toString()), clock.now()]) },
  });
  for (let i = 0; i < count; i++) {
    await a.send(Buffer.from(String(i)), { protocol: 'udp', address: '10.0.0.2', port: 5060 });
    clock.advance(1);
  }
  clock.advance(10_000);
  await network.close();
  return { arrivals, lost: network.counters.lost };
}

describe('LoopNetwork', () => {
  it('delivers after the fixed delay on the clock, with the sender as source', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock, delay: 20 });
    const inbox = new Inbox();
    const a = network.createTransport({ address: '10.0.0.1', port: 5060, handlers: new Inbox().handlers });
    const b = network.createTransport({ address: '10.0.0.2', port: 5070, handlers: inbox.handlers });
    await a.send(Buffer.from('hello'), b.local);
    clock.advance(19);
    assert.equal(inbox.received.length, 0);
    clock.advance(1);
    assert.equal(inbox.received.length, 1);
    assert.deepEqual(inbox.received[0]?.data, Buffer.from('hello'));
    assert.deepEqual(inbox.received[0]?.source, { protocol: 'udp', address: '10.0.0.1', port: 5060 });
    assert.equal(inbox.received[0]?.transport, b);
    assert.equal(a.reliable, false);
    await network.close();
  });

  it('gives the same losses and delays for the same seed, and different ones for another seed', async () => {
    const conditions: LoopConditions = { lossProbability: 0.3, delay: { minMs: 5, maxMs: 80 } };
    const one = await run(42, conditions);
    const again = await run(42, conditions);
    const other = await run(43, conditions);
    assert.deepEqual(again, one);
    assert.notDeepEqual(other.arrivals, one.arrivals);
    // 200 sends at 30 % loss: well inside [30, 90] lost.
    assert.ok(one.lost >= 30 && one.lost <= 90, `lost ${one.lost}`);
    assert.equal(one.arrivals.length + one.lost, 200);
    for (const [index, at] of one.arrivals) assert.ok(at - index >= 5 && at - index <= 80, `delay of ${index}`);
    // Random delays reorder datagrams.
    const order = one.arrivals.map(([index]) => index);
    assert.notDeepEqual(
      order,
      [...order].sort((x, y) => x - y),
    );
  });

  it('loses nothing on a reliable link and keeps the order despite random delays', async () => {
    const reliable = await run(7, { lossProbability: 0.9, delay: { minMs: 1, maxMs: 200 } }, true, 100);
    assert.equal(reliable.lost, 0);
    assert.deepEqual(
      reliable.arrivals.map(([index]) => index),
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('applies new conditions to later sends', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const inbox = new Inbox();
    const a = network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers });
    const b = network.createTransport({ address: '10.0.0.2', handlers: inbox.handlers });
    network.setConditions({ lossProbability: 1 });
    await a.send(Buffer.from('lost'), b.local);
    network.setConditions({ lossProbability: 0, delay: 5 });
    await a.send(Buffer.from('kept'), b.local);
    clock.advance(5);
    assert.deepEqual(
      inbox.received.map((r) => r.data.toString()),
      ['kept'],
    );
    assert.deepEqual(network.counters, { sent: 2, delivered: 1, lost: 1, unreachable: 0 });
    await network.close();
  });

  it('drops what a filter rejects (fault injection), reliable links included', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const inbox = new Inbox();
    const a = network.createTransport({ address: '10.0.0.1', protocol: 'tcp', handlers: new Inbox().handlers });
    const b = network.createTransport({ address: '10.0.0.2', protocol: 'tcp', handlers: inbox.handlers });
    assert.equal(a.reliable, true);
    network.setFilter((packet) => !packet.data.toString().startsWith('BYE'));
    await a.send(Buffer.from('BYE sip:x SIP/2.0'), b.local);
    await a.send(Buffer.from('ACK sip:x SIP/2.0'), b.local);
    clock.advance(0);
    assert.deepEqual(
      inbox.received.map((r) => r.data.toString()),
      ['ACK sip:x SIP/2.0'],
    );
    await network.close();
  });

  it('lets a datagram to nowhere vanish but rejects a stream send to nowhere', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const udp = network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers });
    const tcp = network.createTransport({ address: '10.0.0.1', protocol: 'tcp', handlers: new Inbox().handlers });
    await udp.send(Buffer.from('x'), { protocol: 'udp', address: '10.0.0.9', port: 5060 });
    await assert.rejects(
      tcp.send(Buffer.from('x'), { protocol: 'tcp', address: '10.0.0.9', port: 5060 }),
      isAppError('SIP_TRANSPORT_ERROR'),
    );
    assert.equal(network.counters.unreachable, 2);
    await network.close();
  });

  it('does not deliver to a host that closed while the message was in flight', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock, delay: 10 });
    const inbox = new Inbox();
    const a = network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers });
    const b = network.createTransport({ address: '10.0.0.2', handlers: inbox.handlers });
    await a.send(Buffer.from('late'), b.local);
    await b.close();
    clock.advance(10);
    assert.equal(inbox.received.length, 0);
    assert.equal(network.counters.unreachable, 1);
    await assert.rejects(b.send(Buffer.from('x'), a.local), isAppError('SIP_TRANSPORT_CLOSED'));
    await network.close();
  });

  it('allocates free ports for port 0 and refuses a taken address:port', async () => {
    const network = new LoopNetwork({ clock: new FakeClock() });
    const hosts: LoopTransport[] = [
      network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers }),
      network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers }),
    ];
    assert.notEqual(hosts[0]?.local.port, hosts[1]?.local.port);
    assert.throws(
      () =>
        network.createTransport({ address: '10.0.0.1', port: hosts[0]?.local.port, handlers: new Inbox().handlers }),
      isAppError('SIP_TRANSPORT_ERROR'),
    );
    // The same port on another protocol is another socket.
    network.createTransport({
      address: '10.0.0.1',
      port: hosts[0]?.local.port,
      protocol: 'tcp',
      handlers: new Inbox().handlers,
    });
    await network.close();
  });

  it('cancels deliveries in flight on close', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock, delay: 50 });
    const a = network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers });
    const b = network.createTransport({ address: '10.0.0.2', handlers: new Inbox().handlers });
    await a.send(Buffer.from('x'), b.local);
    assert.equal(network.inFlight, 1);
    await network.close();
    assert.equal(network.inFlight, 0);
    assert.equal(clock.pending, 0);
  });

  it('isolates a receiving handler that throws and reports it to onError', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const errors: Error[] = [];
    const a = network.createTransport({ address: '10.0.0.1', handlers: new Inbox().handlers });
    const b = network.createTransport({
      address: '10.0.0.2',
      handlers: {
        onData: () => {
          throw new Error('handler bug');
        },
        onError: (error) => errors.push(error),
      },
    });
    await a.send(Buffer.from('x'), b.local);
    clock.advance(0);
    assert.equal(errors[0]?.message, 'handler bug');
    await network.close();
  });
});
