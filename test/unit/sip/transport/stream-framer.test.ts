/**
 * Stream framing (RFC 3261 §18.3): messages are cut by Content-Length (long or compact `l`, any
 * case), which is mandatory on streams; CRLFs between messages are skipped (§7.5) and a double
 * CRLF is an RFC 5626 §3.5.1 ping; LF-only line ends are tolerated; header and body sizes are
 * bounded, and any framing error is final.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../../src/sip/message/index.js';
import { AppError } from '../../../../src/errors.js';
import { StreamFramer, createSeededRandom, type FramerResult } from '../../../../src/sip/transport/index.js';
import { sipMessage } from './helpers.js';

const first = sipMessage('INVITE sip:b@example.com SIP/2.0', 'one', 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
const second = sipMessage('SIP/2.0 200 OK', 'two');
const pipelined = Buffer.concat([first, second]);

function feed(framer: StreamFramer, chunks: Buffer[]): { messages: Buffer[]; last: FramerResult | undefined } {
  const messages: Buffer[] = [];
  let last: FramerResult | undefined;
  for (const chunk of chunks) {
    last = framer.push(chunk);
    messages.push(...last.messages);
  }
  return { messages, last };
}

function expectError(result: FramerResult | undefined, code: string): AppError {
  assert.ok(result !== undefined && !result.ok, 'expected a framing error');
  assert.ok(result.error instanceof AppError);
  assert.equal(result.error.code, code);
  return result.error;
}

describe('StreamFramer', () => {
  it('frames two pipelined messages split at every byte boundary', () => {
    for (let cut = 0; cut <= pipelined.length; cut++) {
      const { messages, last } = feed(new StreamFramer(), [pipelined.subarray(0, cut), pipelined.subarray(cut)]);
      assert.ok(last?.ok, `cut at ${cut}`);
      assert.deepEqual(messages, [first, second], `cut at ${cut}`);
    }
  });

  it('frames two pipelined messages fed one byte at a time', () => {
    const framer = new StreamFramer();
    const chunks = [...pipelined].map((b) => Buffer.from([b]));
    const { messages } = feed(framer, chunks);
    assert.deepEqual(messages, [first, second]);
    assert.equal(framer.bufferedBytes, 0);
  });

  it('frames random chunkings of many pipelined messages identically', () => {
    const many = Array.from({ length: 20 }, (_, i) =>
      sipMessage('OPTIONS sip:b@example.com SIP/2.0', `m${i}`, 'x'.repeat(i * 37)),
    );
    const stream = Buffer.concat(many);
    const random = createSeededRandom(7);
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const size = 1 + Math.floor(random() * 300);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(feed(new StreamFramer(), chunks).messages, many);
    }
  });

  it('emits messages the parser accepts in stream mode', () => {
    const { messages } = feed(new StreamFramer(), [pipelined]);
    for (const message of messages) assert.ok(parseMessage(message, { datagram: false }).ok);
  });

  it('accepts the compact form l: in any case and with spaces around the colon (§7.3.3)', () => {
    const text = 'MESSAGE sip:b@example.com SIP/2.0\r\nCall-ID: c\r\nL :  5\r\n\r\nhello';
    const next = 'MESSAGE sip:b@example.com SIP/2.0\r\ncontent-LENGTH:0\r\n\r\n';
    const { messages, last } = feed(new StreamFramer(), [Buffer.from(text + next)]);
    assert.ok(last?.ok);
    assert.deepEqual(
      messages.map((m) => m.toString()),
      [text, next],
    );
  });

  it('reads a Content-Length folded onto a continuation line (§7.3.1)', () => {
    const text = 'MESSAGE sip:b@example.com SIP/2.0\r\nContent-Length:\r\n  3\r\n\r\nabc';
    assert.deepEqual(
      feed(new StreamFramer(), [Buffer.from(text)]).messages.map((m) => m.toString()),
      [text],
    );
  });

  it('tolerates LF-only line ends', () => {
    const text = 'OPTIONS sip:b@example.com SIP/2.0\nCall-ID: lf\nContent-Length: 2\n\nok';
    const mixed = 'OPTIONS sip:b@example.com SIP/2.0\nContent-Length: 0\n\r\n';
    const { messages } = feed(new StreamFramer(), [Buffer.from(text + mixed)]);
    assert.deepEqual(
      messages.map((m) => m.toString()),
      [text, mixed],
    );
  });

  it('rejects a message without Content-Length: it is mandatory on streams (§18.3)', () => {
    const valid = second;
    const missing = Buffer.from('OPTIONS sip:b@example.com SIP/2.0\r\nCall-ID: x\r\n\r\n');
    const framer = new StreamFramer();
    const result = framer.push(Buffer.concat([valid, missing]));
    assert.deepEqual(result.messages, [valid], 'messages before the error are still delivered');
    expectError(result, 'SIP_PARSE_MISSING_HEADER');
    assert.equal(framer.failed, true);
    expectError(framer.push(second), 'SIP_PARSE_MISSING_HEADER');
  });

  it('rejects malformed and conflicting Content-Length values', () => {
    expectError(
      new StreamFramer().push(Buffer.from('A sip:b SIP/2.0\r\nContent-Length: -1\r\n\r\n')),
      'SIP_PARSE_HEADER',
    );
    expectError(new StreamFramer().push(Buffer.from('A sip:b SIP/2.0\r\nl: 12345678901\r\n\r\n')), 'SIP_PARSE_HEADER');
    expectError(
      new StreamFramer().push(Buffer.from('A sip:b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n')),
      'SIP_PARSE_HEADER',
    );
    assert.ok(new StreamFramer().push(Buffer.from('A sip:b SIP/2.0\r\nContent-Length: 1\r\nl: 1\r\n\r\nx')).ok);
  });

  it('rejects a header section larger than the limit, before its end arrives', () => {
    const framer = new StreamFramer({ maxHeaderBytes: 1024 });
    const head = Buffer.from('OPTIONS sip:b@example.com SIP/2.0\r\nX-Pad: ' + 'a'.repeat(900));
    assert.ok(framer.push(head).ok);
    expectError(framer.push(Buffer.from('a'.repeat(200))), 'SIP_PARSE_LIMIT');
  });

  it('rejects a header section of 16 KiB + 1 by default and accepts one just below', () => {
    const pad = (n: number): Buffer => {
      const prefix = 'OPTIONS sip:b SIP/2.0\r\nContent-Length: 0\r\nX-Pad: ';
      return Buffer.from(prefix + 'a'.repeat(n - prefix.length - 4) + '\r\n\r\n');
    };
    assert.equal(pad(16 * 1024).length, 16 * 1024);
    assert.ok(new StreamFramer().push(pad(16 * 1024)).ok);
    expectError(new StreamFramer().push(pad(16 * 1024 + 1)), 'SIP_PARSE_LIMIT');
  });

  it('rejects a body larger than the limit from the Content-Length alone', () => {
    const framer = new StreamFramer();
    expectError(framer.push(Buffer.from('MESSAGE sip:b SIP/2.0\r\nContent-Length: 65537\r\n\r\n')), 'SIP_PARSE_LIMIT');
    const small = new StreamFramer({ maxBodyBytes: 10 });
    expectError(small.push(Buffer.from('MESSAGE sip:b SIP/2.0\r\nl: 11\r\n\r\n')), 'SIP_PARSE_LIMIT');
    assert.ok(new StreamFramer().push(Buffer.from('MESSAGE sip:b SIP/2.0\r\nContent-Length: 65536\r\n\r\n')).ok);
  });

  it('rejects bytes that cannot start a message (e.g. a TLS ClientHello on a TCP port) at once', () => {
    expectError(new StreamFramer().push(Buffer.from([0x16, 0x03, 0x01, 0x00])), 'SIP_PARSE_START_LINE');
  });

  it('skips CRLF keep-alives between messages and answers each double CRLF ping once (RFC 5626 §3.5.1)', () => {
    let pings = 0;
    const framer = new StreamFramer({ onPing: () => pings++ });
    const { messages } = feed(framer, [
      Buffer.from('\r\n'), // a pong: ignored
      first,
      Buffer.from('\r\n\r\n'), // ping
      Buffer.from('\r\n'),
      Buffer.from('\r\n'), // ping split over two chunks
      second,
      Buffer.from('\r\n\r\n\r\n\r\n'), // two pings
    ]);
    assert.deepEqual(messages, [first, second]);
    assert.equal(pings, 4);
    assert.equal(framer.bufferedBytes, 0);
  });

  it('does not count a lone CRLF before a message and one after it as a ping', () => {
    let pings = 0;
    const framer = new StreamFramer({ onPing: () => pings++ });
    feed(framer, [Buffer.from('\r\n'), second, Buffer.from('\r\n'), second]);
    assert.equal(pings, 0);
  });

  it('holds a partial message and reports its size', () => {
    const framer = new StreamFramer();
    framer.push(first.subarray(0, 50));
    assert.equal(framer.bufferedBytes, 50);
    const result = framer.push(first.subarray(50));
    assert.deepEqual(result.messages, [first]);
    assert.equal(framer.bufferedBytes, 0);
  });

  it('frames a 64 KiB body fed one byte at a time in linear time', () => {
    const big = sipMessage('MESSAGE sip:b@example.com SIP/2.0', 'big', 'b'.repeat(64 * 1024 - 1));
    const framer = new StreamFramer();
    const started = process.hrtime.bigint();
    let out: Buffer[] = [];
    for (let i = 0; i < big.length; i++) {
      const result = framer.push(big.subarray(i, i + 1));
      if (result.messages.length > 0) out = result.messages;
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.deepEqual(out, [big]);
    assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
  });

  it('frames a header section fed one byte at a time without rescanning (16 KiB header)', () => {
    const prefix = 'OPTIONS sip:b SIP/2.0\r\nContent-Length: 0\r\n';
    const lines: string[] = [];
    let size = prefix.length + 2;
    while (size + 12 < 16 * 1024) {
      lines.push('X-A: 12345\r\n');
      size += 12;
    }
    const message = Buffer.from(prefix + lines.join('') + '\r\n');
    const framer = new StreamFramer();
    const started = process.hrtime.bigint();
    let count = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < message.length; i++) count += framer.push(message.subarray(i, i + 1)).messages.length;
    }
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(count, 5);
    assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
  });
});
