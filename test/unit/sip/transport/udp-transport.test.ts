/**
 * UDP transport (RFC 3261 §18): one datagram is one message, delivered with its source; IPv4 and
 * IPv6 by bind address; CRLF keep-alive datagrams (RFC 5626) are dropped silently; send rejects
 * with SIP_TRANSPORT_ERROR on local failures only (ICMP is ignored, §18.4), SIP_TRANSPORT_CLOSED
 * after close.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { createUdpTransport, type Transport } from '../../../../src/sip/transport/index.js';
import { Inbox, sipMessage } from './helpers.js';
import { skipOutsideCi } from '../../../support/skip.js';

async function canBindIpv6Loopback(): Promise<boolean> {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    socket.close();
  }
}

function isAppError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code;
}

async function roundTrip(host: string): Promise<void> {
  const a = new Inbox();
  const b = new Inbox();
  const ta = await createUdpTransport({ host, port: 0, handlers: a.handlers });
  const tb = await createUdpTransport({ host, port: 0, handlers: b.handlers });
  try {
    assert.equal(ta.reliable, false);
    assert.equal(ta.protocol, 'udp');
    assert.notEqual(ta.local.port, 0);
    const request = sipMessage('OPTIONS sip:b@example.com SIP/2.0', 'udp-rt');
    await ta.send(request, tb.local);
    const [inbound] = await b.waitFor(1);
    assert.ok(inbound !== undefined);
    assert.deepEqual(inbound.data, request);
    assert.deepEqual(inbound.source, { protocol: 'udp', address: host, port: ta.local.port });
    assert.equal(inbound.transport, tb);

    const response = sipMessage('SIP/2.0 200 OK', 'udp-rt');
    await inbound.transport.send(response, inbound.source);
    const [back] = await a.waitFor(1);
    assert.deepEqual(back?.data, response);
    assert.deepEqual(back?.source, { protocol: 'udp', address: host, port: tb.local.port });
  } finally {
    await ta.close();
    await tb.close();
  }
}

describe('UDP transport', () => {
  it('round-trips a request and its response over IPv4 loopback', async () => {
    await roundTrip('127.0.0.1');
  });

  it('round-trips a request and its response over IPv6 loopback', async (t) => {
    if (!(await canBindIpv6Loopback())) {
      t.skip(skipOutsideCi('::1 cannot be bound here'));
      return;
    }
    await roundTrip('::1');
  });

  describe('on one listener', () => {
    const inbox = new Inbox();
    let transport: Transport;
    const raw = createSocket('udp4');

    before(async () => {
      transport = await createUdpTransport({
        host: '127.0.0.1',
        port: 0,
        handlers: inbox.handlers,
        maxDatagramBytes: 2000,
      });
      raw.bind(0, '127.0.0.1');
      await once(raw, 'listening');
    });
    after(async () => {
      await transport.close();
      raw.close();
    });

    it('drops CRLF keep-alive datagrams silently and delivers the next message', async () => {
      const message = sipMessage('OPTIONS sip:b@example.com SIP/2.0', 'after-keepalive');
      for (const keepAlive of ['\r\n\r\n', '\r\n', ''])
        raw.send(Buffer.from(keepAlive), transport.local.port, '127.0.0.1');
      raw.send(message, transport.local.port, '127.0.0.1');
      const received = await inbox.waitFor(1);
      assert.equal(received.length, 1);
      assert.deepEqual(received[0]?.data, message);
      assert.deepEqual(inbox.errors, []);
    });

    it('reports (not delivers) a datagram above maxDatagramBytes', async () => {
      const countBefore = inbox.received.length;
      raw.send(Buffer.alloc(3000, 0x41), transport.local.port, '127.0.0.1');
      const marker = sipMessage('OPTIONS sip:b@example.com SIP/2.0', 'marker');
      raw.send(marker, transport.local.port, '127.0.0.1');
      await inbox.waitFor(countBefore + 1);
      assert.deepEqual(inbox.received.at(-1)?.data, marker);
      assert.ok(inbox.errors.some(isAppError('SIP_PARSE_LIMIT')));
    });

    it('refuses to send a datagram above maxDatagramBytes', async () => {
      await assert.rejects(
        transport.send(Buffer.alloc(2001), { protocol: 'udp', address: '127.0.0.1', port: 9 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
    });

    it('refuses a destination that is not an IPv4 literal (no DNS in the transport)', async () => {
      const data = Buffer.from('x');
      await assert.rejects(
        transport.send(data, { protocol: 'udp', address: 'localhost', port: 5060 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
      await assert.rejects(
        transport.send(data, { protocol: 'udp', address: '::1', port: 5060 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
      await assert.rejects(
        transport.send(data, { protocol: 'udp', address: '127.0.0.1', port: 0 }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
    });

    it('resolves a send to a port nobody listens on (ICMP errors are not reported, §18.4)', async () => {
      const closed = createSocket('udp4');
      closed.bind(0, '127.0.0.1');
      await once(closed, 'listening');
      const port = closed.address().port;
      closed.close();
      await transport.send(sipMessage('OPTIONS sip:b SIP/2.0', 'void'), {
        protocol: 'udp',
        address: '127.0.0.1',
        port,
      });
    });
  });

  it('rejects with SIP_TRANSPORT_ERROR when the port is taken', async () => {
    const first = await createUdpTransport({ host: '127.0.0.1', port: 0, handlers: new Inbox().handlers });
    try {
      await assert.rejects(
        createUdpTransport({ host: '127.0.0.1', port: first.local.port, handlers: new Inbox().handlers }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
    } finally {
      await first.close();
    }
  });

  it('rejects sends after close with SIP_TRANSPORT_CLOSED and closes idempotently', async () => {
    const transport = await createUdpTransport({ host: '127.0.0.1', port: 0, handlers: new Inbox().handlers });
    await transport.close();
    await transport.close();
    await assert.rejects(
      transport.send(Buffer.from('x'), { protocol: 'udp', address: '127.0.0.1', port: 5060 }),
      isAppError('SIP_TRANSPORT_CLOSED'),
    );
  });
});
