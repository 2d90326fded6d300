/**
 * Issue 6 "Done when", checked with the real tools a compliance officer has; here RFC 3161:
 *  - `shasum -a 256 -c <id>.sha256` (and `sha256sum -c`) pass in a produced recording folder;
 *  - `openssl dgst -sha256 -verify <public key of the certificate>` says `Verified OK`;
 *  - `callrec verify` (runVerifyCommand) and `bin/verify.sh` accept the good folder and reject a
 *    flipped byte in a WAV, a rewritten checksum file, a signature from another installation's
 *    key, a missing file and an extra file;
 *  - a chain of three recordings with the middle one deleted is reported as a missing recording;
 *  - `signing: false` produces neither checksum nor signature;
 *  - RFC 3161: a local TSA (`openssl ts -reply`) time-stamps the checksum file, and
 *    `openssl ts -verify` accepts the stored `<id>.sha256.tsr`.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rfc3161TimestampClient, sealRecording, verifyFolder } from '../../src/integrity/index.js';
import {
  run,
  VERIFY_SH,
  wav,
  tool,
  callrecVerify,
  root,
  signer,
  certPath,
  newLedger,
  useSealedFolder,
} from './integrity-tools-fixtures.js';

useSealedFolder();

describe('RFC 3161 time-stamps from a local TSA (openssl ts -reply)', () => {
  let tsaDir: string;
  let server: Server;
  let url: string;
  let requests = 0;

  before(async () => {
    tsaDir = await mkdtemp(join(root, 'tsa-'));
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(tsaDir, 'tsa.key'),
      '-out',
      join(tsaDir, 'tsa.pem'),
      '-subj',
      '/CN=callrec test TSA',
      '-days',
      '2',
      '-addext',
      'extendedKeyUsage=critical,timeStamping',
    ]);
    await writeFile(join(tsaDir, 'serial'), '01\n');
    await writeFile(
      join(tsaDir, 'ts.cnf'),
      [
        '[ tsa ]',
        'default_tsa = tsa_config',
        '[ tsa_config ]',
        `dir = ${tsaDir}`,
        'serial = $dir/serial',
        'crypto_device = builtin',
        'signer_cert = $dir/tsa.pem',
        'signer_key = $dir/tsa.key',
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        'other_policies = 1.2.3.4.5',
        'digests = sha256',
        'accuracy = secs:1',
        'ordering = no',
        'tsa_name = yes',
        'ess_cert_id_chain = no',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const n = ++requests;
        const query = join(tsaDir, `q${n}.tsq`);
        const reply = join(tsaDir, `r${n}.tsr`);
        writeFile(query, Buffer.concat(chunks))
          .then(() =>
            run('openssl', ['ts', '-reply', '-config', join(tsaDir, 'ts.cnf'), '-queryfile', query, '-out', reply]),
          )
          .then(() => readFile(reply))
          .then((body) => {
            response.writeHead(200, { 'content-type': 'application/timestamp-reply' });
            response.end(body);
          })
          .catch(() => {
            response.writeHead(500);
            response.end();
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('stores <id>.sha256.tsr that `openssl ts -verify` accepts for the checksum file', async () => {
    const dir = join(root, 'stamped');
    await mkdir(dir);
    await writeFile(join(dir, 'ts-1-caller.wav'), wav(1000, 1));
    const summary = await sealRecording({
      dir,
      id: 'ts-1',
      audioFiles: ['ts-1-caller.wav'],
      metadata: { id: 'ts-1' },
      signer,
      ledger: await newLedger(),
      timestamp: new Rfc3161TimestampClient({ url }),
    });
    assert.equal(
      summary.timestamp?.ok,
      true,
      String(summary.timestamp?.ok === false && summary.timestamp.error.message),
    );
    const verified = await tool('openssl', [
      'ts',
      '-verify',
      '-data',
      join(dir, 'ts-1.sha256'),
      '-in',
      join(dir, 'ts-1.sha256.tsr'),
      '-CAfile',
      join(tsaDir, 'tsa.pem'),
    ]);
    assert.match(verified.stdout, /Verification: OK/, verified.stdout + verified.stderr);

    const ours = await callrecVerify(dir, certPath);
    assert.equal(ours.code, 0, ours.output);
    assert.match(ours.output, /^OK ts-1: 2 files match, signature valid, time-stamped \d{4}-\d{2}-\d{2}T/m);
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 0, shell.stdout);

    // A token about another checksum file is caught.
    await sealRecording({
      dir,
      id: 'ts-2',
      audioFiles: [],
      metadata: {},
      signer,
      timestamp: new Rfc3161TimestampClient({ url }),
    });
    await cp(join(dir, 'ts-2.sha256.tsr'), join(dir, 'ts-1.sha256.tsr'));
    const swapped = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.match(
      swapped.recordings.find((r) => r.id === 'ts-1')?.problems.join() ?? '',
      /time-stamps another checksum file/,
    );
  });

  it('reports an unreachable TSA without failing the seal', async () => {
    const dir = join(root, 'no-tsa');
    await mkdir(dir);
    await writeFile(join(dir, 'nt.wav'), wav(10, 1));
    const summary = await sealRecording({
      dir,
      id: 'nt',
      audioFiles: ['nt.wav'],
      metadata: {},
      signer,
      timestamp: new Rfc3161TimestampClient({ url: 'http://127.0.0.1:9/tsa', timeoutMs: 2000 }),
    });
    assert.equal(summary.signed, true);
    assert.equal(summary.timestamp?.ok, false);
    assert.equal(summary.timestamp?.ok === false && summary.timestamp.error.code, 'INTEGRITY_TIMESTAMP');
  });
});
