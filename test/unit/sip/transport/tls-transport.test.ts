/**
 * TLS transport (RFC 3261 §18, §26.2): the TCP connection logic over node:tls — a round trip with
 * a throwaway self-signed certificate, the response on the inbound connection, mutual TLS when a
 * client certificate is requested, and a send that fails verification rejects.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../../src/errors.js';
import { createTlsTransport, type TlsSettings } from '../../../../src/sip/transport/index.js';
import { Inbox, sipMessage } from './helpers.js';

let dir = '';
let settings: TlsSettings;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'callrec-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  const certificate = readFileSync(cert, 'utf8');
  settings = { certificate, privateKey: readFileSync(key, 'utf8'), ca: certificate, serverName: 'localhost' };
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS transport', () => {
  for (const mutual of [false, true]) {
    it(`round-trips a request and its response on one connection${mutual ? ' with a client certificate' : ''}`, async () => {
      const serverInbox = new Inbox();
      const clientInbox = new Inbox();
      const server = await createTlsTransport({
        host: '127.0.0.1',
        port: 0,
        handlers: serverInbox.handlers,
        tls: { ...settings, requestClientCertificate: mutual },
      });
      const client = await createTlsTransport({
        host: '127.0.0.1',
        port: 0,
        handlers: clientInbox.handlers,
        tls: settings,
      });
      try {
        assert.equal(server.protocol, 'tls');
        assert.equal(server.reliable, true);
        const request = sipMessage('INVITE sips:b@localhost SIP/2.0', 'tls', 'v=0\r\n');
        await client.send(request, server.local);
        const [inbound] = await serverInbox.waitFor(1);
        assert.ok(inbound !== undefined);
        assert.deepEqual(inbound.data, request);
        assert.equal(inbound.source.protocol, 'tls');
        assert.equal(inbound.source.address, '127.0.0.1');

        const response = sipMessage('SIP/2.0 200 OK', 'tls');
        await server.send(response, inbound.source);
        const [back] = await clientInbox.waitFor(1);
        assert.deepEqual(back?.data, response);
        assert.equal(server.connectionCount, 1);
        assert.equal(client.connectionCount, 1);
        assert.deepEqual(serverInbox.errors, []);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }

  it('rejects a send when the server certificate is not trusted', async () => {
    const server = await createTlsTransport({
      host: '127.0.0.1',
      port: 0,
      handlers: new Inbox().handlers,
      tls: settings,
    });
    const untrusting: TlsSettings = {
      certificate: settings.certificate,
      privateKey: settings.privateKey,
      serverName: 'localhost',
    };
    const clientInbox = new Inbox();
    const client = await createTlsTransport({
      host: '127.0.0.1',
      port: 0,
      handlers: clientInbox.handlers,
      tls: untrusting,
    });
    try {
      await assert.rejects(
        client.send(sipMessage('OPTIONS sips:b@localhost SIP/2.0', 'untrusted'), server.local),
        (error: unknown) => error instanceof AppError && error.code === 'SIP_TRANSPORT_ERROR',
      );
      assert.equal(client.connectionCount, 0);
      assert.ok(clientInbox.errors.length > 0);
    } finally {
      await client.close();
      await server.close();
    }
  });

  it('closes promptly while a client sits in the handshake', { timeout: 5000 }, async () => {
    const server = await createTlsTransport({
      host: '127.0.0.1',
      port: 0,
      handlers: new Inbox().handlers,
      tls: settings,
    });
    const silent = connect(server.local.port, '127.0.0.1'); // TCP only, never says hello
    silent.on('error', () => undefined);
    const silentClosed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the server accept it
      const started = Date.now();
      await server.close();
      assert.ok(Date.now() - started < 2000, 'close did not wait for the handshake timeout');
      await silentClosed;
    } finally {
      silent.destroy();
    }
  });
});
