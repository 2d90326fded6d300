/**
 * TCP transport (RFC 3261 §18): messages framed per connection (§18.3); the source of a message
 * is the peer socket's address and port; a response or new request to an endpoint with an open
 * connection reuses it (§18.2.2), concurrent sends share one new connection (§18.1.1); idle
 * connections close; a peer that does not read fills a bounded queue and further sends reject;
 * framing errors close the connection; a CRLFCRLF ping gets a CRLF pong (RFC 5626 §3.5.1).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { createTcpTransport, type StreamTransport } from '../../../../src/sip/transport/index.js';
import { Inbox, sipMessage, unusedTcpPort, waitUntil } from './helpers.js';

function isAppError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code;
}

async function pair(options: { idleTimeoutMs?: number } = {}): Promise<{
  server: StreamTransport;
  client: StreamTransport;
  serverInbox: Inbox;
  clientInbox: Inbox;
  close: () => Promise<void>;
}> {
  const serverInbox = new Inbox();
  const clientInbox = new Inbox();
  const server = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: serverInbox.handlers, ...options });
  const client = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: clientInbox.handlers, ...options });
  return {
    server,
    client,
    serverInbox,
    clientInbox,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

describe('TCP transport', () => {
  it('answers on the inbound connection: the response reuses it and no new connection opens', async () => {
    const { server, client, serverInbox, clientInbox, close } = await pair();
    try {
      assert.equal(server.reliable, true);
      const request = sipMessage('INVITE sip:b@example.com SIP/2.0', 'reuse', 'v=0\r\n');
      await client.send(request, server.local);
      const [inbound] = await serverInbox.waitFor(1);
      assert.ok(inbound !== undefined);
      assert.deepEqual(inbound.data, request);
      // The source is the peer socket: the client's ephemeral port, not its listening port.
      assert.equal(inbound.source.protocol, 'tcp');
      assert.equal(inbound.source.address, '127.0.0.1');
      assert.notEqual(inbound.source.port, client.local.port);
      assert.equal(inbound.transport, server);
      assert.equal(server.hasConnection(inbound.source), true);

      const response = sipMessage('SIP/2.0 200 OK', 'reuse');
      await server.send(response, inbound.source);
      const [back] = await clientInbox.waitFor(1);
      assert.deepEqual(back?.data, response);
      assert.deepEqual(back?.source, server.local);
      assert.equal(server.connectionCount, 1);
      assert.equal(client.connectionCount, 1);

      // A new request in the same direction reuses the client's connection too.
      await client.send(sipMessage('BYE sip:b@example.com SIP/2.0', 'reuse'), server.local);
      await serverInbox.waitFor(2);
      assert.equal(serverInbox.received[1]?.source.port, inbound.source.port);
      assert.equal(server.connectionCount, 1);
    } finally {
      await close();
    }
  });

  it('opens one connection for concurrent sends to the same endpoint and keeps their order', async () => {
    const { server, client, serverInbox, close } = await pair();
    let accepted = 0;
    try {
      const messages = Array.from({ length: 10 }, (_, i) =>
        sipMessage('MESSAGE sip:b@example.com SIP/2.0', `c${i}`, 'x'.repeat(i * 500)),
      );
      await Promise.all(messages.map((m) => client.send(m, server.local)));
      const received = await serverInbox.waitFor(10);
      assert.deepEqual(
        received.map((r) => r.data),
        messages,
      );
      accepted = new Set(received.map((r) => r.source.port)).size;
      assert.equal(accepted, 1);
      assert.equal(client.connectionCount, 1);
      assert.equal(server.connectionCount, 1);
    } finally {
      await close();
    }
  });

  it('closes a connection that stays idle for idleTimeoutMs, then reconnects on the next send', async () => {
    const { server, client, serverInbox, close } = await pair({ idleTimeoutMs: 150 });
    try {
      await client.send(sipMessage('OPTIONS sip:b SIP/2.0', 'idle1'), server.local);
      await serverInbox.waitFor(1);
      assert.equal(client.connectionCount, 1);
      await waitUntil(() => client.connectionCount === 0 && server.connectionCount === 0, 3000, 'idle close');
      await client.send(sipMessage('OPTIONS sip:b SIP/2.0', 'idle2'), server.local);
      await serverInbox.waitFor(2);
      assert.notEqual(serverInbox.received[0]?.source.port, serverInbox.received[1]?.source.port);
    } finally {
      await close();
    }
  });

  it('queues behind a peer that does not read, within a bound, and rejects beyond it', async () => {
    const stalled: Socket[] = [];
    const peer = createServer((socket) => {
      socket.pause(); // never reads: the kernel buffers fill, then write() returns false
      stalled.push(socket);
    });
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    const address = peer.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const transport = await createTcpTransport({
      host: '127.0.0.1',
      port: 0,
      handlers: new Inbox().handlers,
      maxQueuedBytes: 256 * 1024,
    });
    const destination = { protocol: 'tcp' as const, address: '127.0.0.1', port };
    const pending: Array<Promise<void>> = [];
    try {
      await transport.send(sipMessage('OPTIONS sip:b SIP/2.0', 'first'), destination);
      const chunk = sipMessage('MESSAGE sip:b SIP/2.0', 'bulk', 'z'.repeat(60 * 1024));
      let rejection: unknown;
      for (let i = 0; i < 2000 && rejection === undefined; i++) {
        const sent = transport.send(chunk, destination);
        sent.catch((error: unknown) => {
          rejection ??= error;
        });
        pending.push(sent);
        await nextTurn();
      }
      assert.ok(rejection instanceof AppError, 'a send was rejected');
      assert.equal(rejection.code, 'SIP_TRANSPORT_ERROR');
      assert.equal(rejection.retriable, true);
      assert.match(rejection.message, /queue .* full/);
      assert.equal(transport.connectionCount, 1, 'the connection stays open');
    } finally {
      await transport.close();
      const outcomes = await Promise.allSettled(pending);
      // Messages still queued when the transport closed fail with SIP_TRANSPORT_CLOSED.
      assert.ok(outcomes.some((o) => o.status === 'rejected' && isAppError('SIP_TRANSPORT_CLOSED')(o.reason)));
      for (const socket of stalled) socket.destroy();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });

  it('closes the connection and reports a framing error (missing Content-Length, §18.3)', async () => {
    const inbox = new Inbox();
    const transport = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: inbox.handlers });
    const socket = connect(transport.local.port, '127.0.0.1');
    socket.on('error', () => undefined); // the server may reset the connection
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    try {
      await once(socket, 'connect');
      socket.write('OPTIONS sip:b SIP/2.0\r\nCall-ID: x\r\n\r\n');
      await closed;
      assert.ok(inbox.errors.some(isAppError('SIP_PARSE_MISSING_HEADER')));
      assert.equal(inbox.received.length, 0);
      await waitUntil(() => transport.connectionCount === 0, 2000, 'connection removed');
    } finally {
      socket.destroy();
      await transport.close();
    }
  });

  it('answers a CRLFCRLF ping with a CRLF pong (RFC 5626 §3.5.1)', async () => {
    const transport = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: new Inbox().handlers });
    const socket = connect(transport.local.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write('\r\n\r\n');
      const [pong] = (await once(socket, 'data')) as [Buffer];
      assert.equal(pong.toString(), '\r\n');
    } finally {
      socket.destroy();
      await transport.close();
    }
  });

  it('rejects a send with SIP_TRANSPORT_ERROR when the connection is refused', async () => {
    const inbox = new Inbox();
    const transport = await createTcpTransport({ host: '127.0.0.1', port: 0, handlers: inbox.handlers });
    try {
      const port = await unusedTcpPort();
      await assert.rejects(
        transport.send(sipMessage('OPTIONS sip:b SIP/2.0', 'refused'), { protocol: 'tcp', address: '127.0.0.1', port }),
        isAppError('SIP_TRANSPORT_ERROR'),
      );
      assert.equal(transport.connectionCount, 0);
      assert.ok(inbox.errors.length > 0, 'the error is reported to onError too');
    } finally {
      await transport.close();
    }
  });

  it('refuses connections beyond maxConnections', async () => {
    const inbox = new Inbox();
    const transport = await createTcpTransport({
      host: '127.0.0.1',
      port: 0,
      handlers: inbox.handlers,
      maxConnections: 1,
    });
    const sockets = [connect(transport.local.port, '127.0.0.1'), connect(transport.local.port, '127.0.0.1')];
    const oneClosed = Promise.race(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.on('error', () => undefined); // a reset of the refused socket is expected
            socket.on('close', () => resolve());
          }),
      ),
    );
    try {
      await oneClosed;
      await waitUntil(() => transport.connectionCount === 1, 2000, 'one connection kept');
      assert.ok(inbox.errors.some(isAppError('SIP_TRANSPORT_ERROR')));
    } finally {
      for (const socket of sockets) socket.destroy();
      await transport.close();
    }
  });

  it('closes all connections on close, rejects later sends, and closes idempotently', async () => {
    const { server, client, serverInbox, close } = await pair();
    await client.send(sipMessage('OPTIONS sip:b SIP/2.0', 'bye'), server.local);
    await serverInbox.waitFor(1);
    await close();
    await server.close();
    assert.equal(server.connectionCount, 0);
    assert.equal(client.connectionCount, 0);
    await assert.rejects(client.send(Buffer.from('x'), server.local), isAppError('SIP_TRANSPORT_CLOSED'));
  });
});
