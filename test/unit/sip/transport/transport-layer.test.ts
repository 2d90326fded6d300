/**
 * TransportLayer: owns the listeners, sends on the listener of the destination's protocol and
 * address family (streams prefer the listener that holds the connection, RFC 3261 §18.2.2),
 * delivers every inbound message to one onData (handler exceptions isolated), counts traffic per
 * source address in a bounded map evicting the least recently seen, and closes everything.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import {
  createTcpTransport,
  createTransportLayer,
  LoopNetwork,
  type InboundData,
  type ListenerFactory,
} from '../../../../src/sip/transport/index.js';
import { FakeClock } from './fake-clock.js';
import { Inbox, sipMessage } from './helpers.js';

function isAppError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code;
}

function loopFactory(network: LoopNetwork): ListenerFactory {
  return async (config, handlers) =>
    network.createTransport({ address: config.host, port: config.port, protocol: config.protocol, handlers });
}

describe('TransportLayer', () => {
  it('sends on the listener of the same protocol and address family', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const v4 = new Inbox();
    const v6 = new Inbox();
    network.createTransport({ address: '192.0.2.50', port: 5060, handlers: v4.handlers });
    network.createTransport({ address: '2001:db8::50', port: 5060, handlers: v6.handlers });
    const layer = await createTransportLayer({
      listeners: [
        { protocol: 'udp', host: '192.0.2.1', port: 5060 },
        { protocol: 'udp', host: '2001:db8::1', port: 5060 },
        { protocol: 'tcp', host: '192.0.2.1', port: 5060 },
      ],
      onData: () => undefined,
      createListener: loopFactory(network),
    });
    try {
      assert.equal(layer.listeners.length, 3);
      await layer.send(Buffer.from('to v6'), { protocol: 'udp', address: '2001:db8::50', port: 5060 });
      await layer.send(Buffer.from('to v4'), { protocol: 'udp', address: '192.0.2.50', port: 5060 });
      clock.advance(0);
      assert.deepEqual(v6.received[0]?.source, { protocol: 'udp', address: '2001:db8::1', port: 5060 });
      assert.deepEqual(v4.received[0]?.source, { protocol: 'udp', address: '192.0.2.1', port: 5060 });
      await assert.rejects(
        layer.send(Buffer.from('x'), { protocol: 'tls', address: '192.0.2.50', port: 5061 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
      await assert.rejects(
        layer.send(Buffer.from('x'), { protocol: 'tcp', address: '2001:db8::50', port: 5060 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
    } finally {
      await layer.close();
      await network.close();
    }
  });

  it('delivers inbound data to onData and counts messages, bytes and last seen per source', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const delivered: InboundData[] = [];
    let now = 1000;
    const layer = await createTransportLayer({
      listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
      onData: (inbound) => delivered.push(inbound),
      createListener: loopFactory(network),
      now: () => now,
    });
    try {
      const peer = network.createTransport({ address: '198.51.100.7', handlers: new Inbox().handlers });
      const listener = layer.listeners[0];
      assert.ok(listener !== undefined);
      await peer.send(Buffer.from('12345'), listener.local);
      clock.advance(0);
      now = 2000;
      await peer.send(Buffer.from('123'), listener.local);
      clock.advance(0);
      assert.equal(delivered.length, 2);
      assert.equal(delivered[0]?.transport, listener);
      assert.deepEqual(layer.stats().get('198.51.100.7'), { messages: 2, bytes: 8, errors: 0, lastSeen: 2000 });
    } finally {
      await layer.close();
      await network.close();
    }
  });

  it('keeps at most maxTrackedSources sources, evicting the least recently seen', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const layer = await createTransportLayer({
      listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
      onData: () => undefined,
      createListener: loopFactory(network),
      maxTrackedSources: 2,
    });
    try {
      const target = layer.listeners[0]!.local;
      const peers = ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((address) =>
        network.createTransport({ address, handlers: new Inbox().handlers }),
      );
      for (const index of [0, 1, 0, 2]) {
        await peers[index]!.send(Buffer.from('x'), target);
        clock.advance(0);
      }
      assert.deepEqual([...layer.stats().keys()], ['198.51.100.1', '198.51.100.3']);
    } finally {
      await layer.close();
      await network.close();
    }
  });

  it('isolates an onData that throws: reported to onError and counted for the source', async () => {
    const clock = new FakeClock();
    const network = new LoopNetwork({ clock });
    const errors: Array<{ error: Error; address: string | undefined }> = [];
    const layer = await createTransportLayer({
      listeners: [{ protocol: 'udp', host: '192.0.2.1', port: 5060 }],
      onData: () => {
        throw new Error('consumer bug');
      },
      onError: (error, source) => errors.push({ error, address: source?.address }),
      createListener: loopFactory(network),
    });
    try {
      const peer = network.createTransport({ address: '198.51.100.9', handlers: new Inbox().handlers });
      await peer.send(Buffer.from('x'), layer.listeners[0]!.local);
      clock.advance(0);
      assert.equal(errors[0]?.error.message, 'consumer bug');
      assert.equal(errors[0]?.address, '198.51.100.9');
      assert.equal(layer.stats().get('198.51.100.9')?.messages, 1);
    } finally {
      await layer.close();
      await network.close();
    }
  });

  it('runs real UDP and TCP listeners: receives, counts errors, answers on the inbound TCP connection', async () => {
    const delivered: InboundData[] = [];
    const errors: Error[] = [];
    let onDelivered: (() => void) | undefined;
    const layer = await createTransportLayer({
      listeners: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      onData: (inbound) => {
        delivered.push(inbound);
        onDelivered?.();
      },
      onError: (error) => errors.push(error),
    });
    const nextDelivery = (): Promise<void> => new Promise((resolve) => (onDelivered = resolve));
    const peerInbox = new Inbox();
    const peer = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: peerInbox.handlers });
    const raw = createSocket('udp4');
    try {
      const [udp, tcpA, tcpB] = layer.listeners;
      assert.ok(udp !== undefined && tcpA !== undefined && tcpB !== undefined);
      raw.bind(0, '127.0.0.1');
      await once(raw, 'listening');
      let arrival = nextDelivery();
      raw.send(sipMessage('OPTIONS sip:x SIP/2.0', 'udp-in'), udp.local.port, '127.0.0.1');
      await arrival;
      assert.equal(delivered[0]?.source.port, raw.address().port);

      // The peer connects to the second TCP listener; the answer must use that connection.
      arrival = nextDelivery();
      await peer.send(sipMessage('INVITE sip:x SIP/2.0', 'tcp-in'), tcpB.local);
      await arrival;
      const inbound = delivered[1];
      assert.ok(inbound !== undefined);
      assert.equal(inbound.transport, tcpB);
      await layer.send(sipMessage('SIP/2.0 200 OK', 'tcp-in'), inbound.source);
      const [answer] = await peerInbox.waitFor(1);
      assert.deepEqual(answer?.source, tcpB.local);
      assert.equal(peer.connectionCount, 1);

      const stats = layer.stats().get('127.0.0.1');
      assert.equal(stats?.messages, 2);
      assert.deepEqual(errors, []);
    } finally {
      raw.close();
      await peer.close();
      await layer.close();
      await layer.close();
    }
    await assert.rejects(
      layer.send(Buffer.from('x'), { protocol: 'udp', address: '127.0.0.1', port: 9 }),
      isAppError('SIP_TRANSPORT_CLOSED'),
    );
  });

  it('closes the listeners already bound when one cannot bind', async () => {
    const blocker = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: new Inbox().handlers });
    try {
      await assert.rejects(
        createTransportLayer({
          listeners: [
            { protocol: 'tcp', host: '127.0.0.1', port: 0 },
            { protocol: 'tcp', host: '127.0.0.1', port: blocker.local.port },
          ],
          onData: () => undefined,
        }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
      await assert.rejects(
        createTransportLayer({ listeners: [{ protocol: 'tls', host: '127.0.0.1', port: 0 }], onData: () => undefined }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
    } finally {
      await blocker.close();
    }
  });
});
