/**
 * Transports end to end: OPTIONS over UDP on IPv6 (SIPp on ::1) and over TLS (node:tls client;
 * Debian's SIPp is built without TLS) against the real callrec process, with a throwaway
 * certificate made by openssl.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { startCallrec, type CallrecProcess } from './support/callrec-process.js';
import { runSipp } from './support/sipp.js';

describe('callrec on IPv6 and TLS', () => {
  const certDir = mkdtempSync(join(tmpdir(), 'callrec-tls-'));
  const certificate = join(certDir, 'cert.pem');
  const privateKey = join(certDir, 'key.pem');
  let callrec: CallrecProcess;

  before(async () => {
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
        privateKey,
        '-out',
        certificate,
      ],
      {
        stdio: 'ignore',
      },
    );
    callrec = await startCallrec({
      trunk: ['127.0.0.1', '::1'],
      listen: [
        { transport: 'udp', host: '::1' },
        { transport: 'tls', host: '127.0.0.1', certificate, privateKey },
      ],
    });
  });
  after(async () => {
    await callrec.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  it('answers OPTIONS from SIPp over UDP on ::1', async () => {
    const run = await runSipp({
      scenario: 'uac-options-expect-200.xml',
      port: callrec.ports[0]!,
      localIp: '::1',
      host: '::1',
    });
    assert.equal(run.code, 0, run.errors);
  });

  it('answers OPTIONS over TLS on the same connection', async () => {
    const port = callrec.ports[1]!;
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port, ca: readFileSync(certificate), servername: 'localhost' },
        () => {
          socket.write(
            [
              `OPTIONS sip:127.0.0.1:${port};transport=tls SIP/2.0`,
              'Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKtls1;rport',
              'Max-Forwards: 70',
              'From: <sip:probe@127.0.0.1>;tag=t1',
              `To: <sip:127.0.0.1:${port}>`,
              'Call-ID: tls-options-1',
              'CSeq: 1 OPTIONS',
              'Content-Length: 0',
              '',
              '',
            ].join('\r\n'),
          );
        },
      );
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        data += chunk;
        if (data.includes('\r\n\r\n')) {
          socket.end();
          resolve(data);
        }
      });
      socket.once('error', reject);
      setTimeout(() => reject(new Error(`no TLS response, got ${JSON.stringify(data)}`)), 10_000).unref();
    });
    assert.match(response, /^SIP\/2\.0 200 OK\r\n/);
    assert.match(response, /\r\nCall-ID: tls-options-1\r\n/);
  });
});
