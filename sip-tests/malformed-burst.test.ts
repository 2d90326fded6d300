/**
 * Robustness end to end (issue "SIP foundation"): 1,000 malformed datagrams in a burst from a peer
 * address do not stop callrec; the answerable ones get 400, garbage is dropped, and SIPp's OPTIONS
 * is still answered right after.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { startCallrec } from './support/callrec-process.js';
import { runSipp } from './support/sipp.js';

function answerable(i: number, port: number): Buffer {
  return Buffer.from(
    [
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKburst${i}`,
      'Max-Forwards: not-a-number',
      `From: <sip:burst@127.0.0.1>;tag=b${i}`,
      `To: <sip:127.0.0.1:${port}>`,
      `Call-ID: burst-${i}@127.0.0.1`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

it('survives 1,000 malformed datagrams and keeps answering', { timeout: 120_000 }, async () => {
  const callrec = await startCallrec({ logLevel: 'info' });
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const ourPort = socket.address().port;
  let answers400 = 0;
  socket.on('message', (data) => {
    if (data.toString('latin1').startsWith('SIP/2.0 400')) answers400++;
  });
  try {
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 1000; i++) {
      let datagram: Buffer;
      if (i % 4 === 0) datagram = answerable(i, ourPort);
      else if (i % 4 === 1) datagram = randomBytes(1 + (i % 1400));
      else if (i % 4 === 2) datagram = Buffer.from(`INVITE sip:x SIP/2.0\r\nVia: \u0000\r\n\r\n${'A'.repeat(i)}`);
      else datagram = Buffer.concat([answerable(i, ourPort).subarray(0, 60 + (i % 100)), randomBytes(50)]);
      sends.push(new Promise((resolve) => socket.send(datagram, callrec.port, '127.0.0.1', () => resolve())));
    }
    await Promise.all(sends);
    const run = await runSipp({ scenario: 'uac-options-expect-200.xml', port: callrec.port, calls: 3 });
    assert.equal(run.code, 0, `sipp after the burst: exit ${run.code}\n${run.errors}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(answers400 >= 200, `expected the 250 answerable ones to get 400, got ${answers400}`);
    assert.equal(callrec.child.exitCode, null, 'callrec must still run');
  } finally {
    socket.close();
    assert.equal(await callrec.stop(), 0);
  }
});
