/**
 * The serializer's raw-bytes path: a parsed message whose header section is already written
 * exactly as the serializer writes it is serialized as the bytes it was parsed from. These tests
 * pin that those bytes equal formatting the fields, that every non-canonical form falls back
 * to formatting, and that derived messages never reuse the original bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { parseMessage, serializeMessage, withHeaders, type SipMessage } from '../../../../src/sip/message/index.js';
import { rawBytesOf } from '../../../../src/sip/message/raw-bytes.js';
import { serializeFields } from '../../../../src/sip/message/serializer.js';
import { sipCorpus } from '../../../fuzz/sip-corpus.js';
import { mutate, prng } from '../../../fuzz/sip-mutator.js';

const BODY = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n';
const LINES = [
  'INVITE sip:bob@biloxi.example.com;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'X-Custom: kept as written',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(BODY)}`,
];

function text(lines: string[], body = BODY): string {
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

function parsed(input: string | Buffer): SipMessage {
  const result = parseMessage(input);
  if (!result.ok) assert.fail(`expected a parse, got ${result.error.message}`);
  return result.message;
}

function replaceLine(prefix: string, line: string): string[] {
  return LINES.map((l) => (l.startsWith(prefix) ? line : l));
}

describe('serializing a parsed message from its own bytes', () => {
  it('returns a canonically written message byte for byte', () => {
    const input = text(LINES);
    const message = parsed(input);
    assert.ok(rawBytesOf(message) !== undefined, 'canonical input keeps its bytes');
    const out = serializeMessage(message);
    assert.equal(out.toString('utf8'), input);
    assert.deepEqual(out, serializeFields(message));
  });

  it('keeps the bytes out of sight: same keys, no symbols, not shown by inspect', () => {
    const canonical = parsed(text(LINES));
    const formatted = parsed(text(replaceLine('Max-Forwards', 'max-forwards: 70')));
    assert.ok(rawBytesOf(canonical) !== undefined && rawBytesOf(formatted) === undefined);
    assert.deepEqual(Object.keys(canonical), Object.keys(formatted));
    assert.deepEqual(Object.getOwnPropertySymbols(canonical), []);
    assert.doesNotMatch(inspect(canonical, { depth: 0 }), /raw/i);
  });

  it('returns the parsed bytes themselves, as it does for the body', () => {
    const input = Buffer.from(text(LINES));
    const message = parsed(input);
    const out = serializeMessage(message);
    assert.equal(out.buffer, input.buffer);
    assert.equal(out.byteOffset, input.byteOffset);
    assert.equal(message.body.buffer, input.buffer);
  });

  it('returns only the message itself: not CRLFs before it nor datagram bytes after its body', () => {
    const input = text(LINES);
    for (const framed of ['\r\n\r\n' + input, input + 'bytes beyond Content-Length']) {
      const message = parsed(framed);
      assert.ok(rawBytesOf(message) !== undefined);
      assert.equal(serializeMessage(message).toString('utf8'), input);
      assert.deepEqual(serializeMessage(message), serializeFields(message));
    }
  });

  it('returns a canonical response as parsed, including one with an empty reason phrase', () => {
    const response = ['SIP/2.0 180 Ringing', ...LINES.slice(1, 8), 'Content-Length: 0'];
    for (const lines of [response, ['SIP/2.0 180 ', ...response.slice(1)]]) {
      const message = parsed(text(lines, ''));
      assert.ok(rawBytesOf(message) !== undefined);
      assert.deepEqual(serializeMessage(message), serializeFields(message));
    }
  });

  const nonCanonical: Array<[string, string | Buffer]> = [
    ['a compact header name', text(replaceLine('Call-ID', 'i: a84b4c76e66710@pc33.atlanta.example.com'))],
    ['a header name in another case', text(replaceLine('Max-Forwards', 'max-forwards: 70'))],
    ['no space after the colon', text(replaceLine('Max-Forwards', 'Max-Forwards:70'))],
    ['two spaces after the colon', text(replaceLine('Max-Forwards', 'Max-Forwards:  70'))],
    ['a tab after the colon', text(replaceLine('Max-Forwards', 'Max-Forwards:\t70'))],
    ['a space before the colon', text(replaceLine('Max-Forwards', 'Max-Forwards : 70'))],
    ['trailing whitespace', text(replaceLine('Max-Forwards', 'Max-Forwards: 70 '))],
    ['a folded header', text(replaceLine('X-Custom', 'X-Custom: kept\r\n  as written'))],
    ['LF-only line ends', LINES.join('\n') + '\n\n' + BODY],
    ['one LF-only line end', text(LINES).replace('Max-Forwards: 70\r\n', 'Max-Forwards: 70\n')],
    ['no Content-Length', text(LINES.slice(0, -1))],
    ['a Content-Length with a leading zero', text(replaceLine('Content-Length', `Content-Length: 0${BODY.length}`))],
    ['an upper-case URI scheme', text(replaceLine('INVITE', 'INVITE SIP:bob@biloxi.example.com SIP/2.0'))],
    ['an escaped Request-URI', text(replaceLine('INVITE', 'INVITE sip:%62ob@biloxi.example.com SIP/2.0'))],
    [
      'an upper-case URI parameter',
      text(replaceLine('INVITE', 'INVITE sip:bob@biloxi.example.com;User=phone SIP/2.0')),
    ],
    ['a port with a leading zero', text(replaceLine('INVITE', 'INVITE sip:bob@biloxi.example.com:05060 SIP/2.0'))],
    ['a lower-case SIP version', text(replaceLine('INVITE', 'INVITE sip:bob@biloxi.example.com sip/2.0'))],
    ['a status line without reason phrase', text(['SIP/2.0 200', ...LINES.slice(1, 8)], '')],
  ];
  for (const [name, input] of nonCanonical) {
    it(`formats the fields instead for ${name}, with the same result as before`, () => {
      const message = parsed(input);
      assert.equal(rawBytesOf(message), undefined);
      assert.deepEqual(serializeMessage(message), serializeFields(message));
    });
  }

  it('never reuses the bytes for a message derived from a parsed one', () => {
    const message = parsed(text(LINES));
    const edited = withHeaders(message, { remove: ['X-Custom'], append: [['Subject', 'new']] });
    assert.equal(rawBytesOf(edited), undefined);
    const out = serializeMessage(edited).toString('utf8');
    assert.doesNotMatch(out, /X-Custom/);
    assert.match(out, /Subject: new\r\n/);
  });

  it('is byte-identical to formatting for mutations of the corpus (seeded)', () => {
    const corpus = sipCorpus();
    const random = prng(20240611);
    let copied = 0;
    for (let i = 0; i < 3000; i++) {
      const input = mutate(corpus[Math.floor(random() * corpus.length)] as Buffer, random);
      const result = parseMessage(input);
      if (!result.ok) continue;
      if (rawBytesOf(result.message) !== undefined) copied++;
      const fast = serializeMessage(result.message);
      const formatted = serializeFields(result.message);
      assert.ok(fast.equals(formatted), `differs for ${JSON.stringify(input.toString('latin1'))}`);
    }
    assert.ok(copied > 0, 'some mutations stay canonical');
  });
});
