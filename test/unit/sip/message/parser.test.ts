/**
 * RFC 3261 §7 / §25 parser behaviour beyond the RFC 4475 torture suite: header forms (compact,
 * folded, comma lists, quoted strings), URIs, typed accessors, limits, and round-trip stability.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildRequest,
  createResponse,
  getHeader,
  getHeaderValues,
  isSipUri,
  parseNameAddr,
  parseMessage,
  serializeMessage,
  withHeaders,
  type SipMessage,
  type SipRequest,
} from '../../../../src/sip/message/index.js';

const CRLF = '\r\n';
function msg(lines: string[], body = ''): string {
  return lines.join(CRLF) + CRLF + CRLF + body;
}
const BASE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
];

function ok(text: string | Buffer): SipMessage {
  const result = parseMessage(text);
  if (!result.ok) assert.fail(`expected a parse, got ${result.error.code}: ${result.error.message}`);
  return result.message;
}
function request(text: string): SipRequest {
  const m = ok(text);
  assert.equal(m.kind, 'request');
  return m as SipRequest;
}
function rejected(text: string | Buffer, status = 400) {
  const result = parseMessage(text);
  assert.equal(result.ok, false, 'expected a rejection');
  if (!result.ok) assert.equal(result.error.suggestedStatus, status);
  return result.ok ? undefined : result.error;
}

describe('SIP parser', () => {
  it('parses the typed views of a typical INVITE', () => {
    const m = request(msg([...BASE, 'Content-Type: application/sdp', 'Content-Length: 4'], 'v=0\n'));
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri.scheme, 'sip');
    assert.equal(m.via.length, 1);
    assert.equal(m.via[0]?.branch, 'z9hG4bK776asdhds');
    assert.equal(m.via[0]?.transport, 'UDP');
    assert.equal(m.from.displayName, 'Alice');
    assert.equal(m.from.params.get('tag'), '1928301774');
    assert.equal(m.to.params.has('tag'), false);
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.maxForwards, 70);
    assert.equal(m.contentLength, 4);
    assert.equal(m.body.toString(), 'v=0\n');
  });

  it('expands compact header names and keeps the canonical long form', () => {
    const m = request(
      msg([
        'OPTIONS sip:x@example.com SIP/2.0',
        'v: SIP/2.0/TCP host.example.com;branch=z9hG4bKa',
        't: <sip:x@example.com>',
        'f: <sip:y@example.com>;tag=1',
        'i: abc@def',
        'CSeq: 1 OPTIONS',
        'm: <sip:y@10.0.0.1>',
        'l: 0',
        'k: timer, 100rel',
      ]),
    );
    assert.equal(m.callId, 'abc@def');
    assert.equal(m.contact.length, 1);
    assert.deepEqual(getHeaderValues(m, 'Supported'), ['timer', '100rel']);
    assert.equal(m.headers.find((h) => h.value === 'abc@def')?.name, 'Call-ID');
  });

  it('unfolds continuation lines into one space (§7.3.1)', () => {
    const m = request(msg([...BASE, 'Subject: I know you are there,', '   pick up the phone', '\tand talk to me!']));
    assert.equal(getHeader(m, 'subject'), 'I know you are there, pick up the phone and talk to me!');
  });

  it('accepts LF-only line ends', () => {
    const m = request(BASE.join('\n') + '\n\n');
    assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.example.com');
  });

  it('ignores CRLFs before the start line (§7.5)', () => {
    request('\r\n\r\n' + msg(BASE));
  });

  it('splits comma-separated Via and Route values but not commas in quotes', () => {
    const m = request(
      msg([
        ...BASE.slice(0, 2),
        'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK2',
        ...BASE.slice(2),
        'Route: <sip:p1.example.com;lr>, "Proxy, Two" <sip:p2.example.com;lr>',
      ]),
    );
    assert.equal(m.via.length, 3);
    assert.equal(m.via[2]?.host, '2001:db8::1');
    assert.equal(m.via[2]?.hostType, 'ipv6');
    assert.equal(m.via[2]?.port, 5070);
    assert.equal(m.route.length, 2);
    assert.equal(m.route[1]?.displayName, 'Proxy, Two');
  });

  it('unescapes quoted display names', () => {
    const m = request(
      msg([
        ...BASE.slice(0, 4),
        'From: "Al \\"The Boss\\" \\\\ Ice" <sip:alice@a.example.com>;tag=9',
        ...BASE.slice(5),
      ]),
    );
    assert.equal(m.from.displayName, 'Al "The Boss" \\ Ice');
  });

  it('parses sip, sips and tel URIs with parameters, headers and escapes', () => {
    const m = request(
      msg([
        'INVITE sip:bob@example.com SIP/2.0',
        ...BASE.slice(1, 3),
        'To: <tel:+49-30-123456;phone-context=+49>',
        'Refer-To: <sips:%61lice:secret@[2001:db8::10]:5061;transport=tcp;lr?Subject=hi%20there&Priority=urgent>',
        ...BASE.slice(4),
      ]),
    );
    const referTo = parseNameAddr(getHeader(m, 'Refer-To') ?? '');
    const uri = referTo?.uri;
    assert.equal(uri?.scheme, 'sips');
    if (uri === undefined || !isSipUri(uri)) return;
    assert.equal(uri.user, 'alice');
    assert.equal(uri.password, 'secret');
    assert.equal(uri.host, '2001:db8::10');
    assert.equal(uri.port, 5061);
    assert.equal(uri.params.get('transport'), 'tcp');
    assert.equal(uri.params.get('lr'), null);
    assert.deepEqual(uri.headers, [
      ['Subject', 'hi there'],
      ['Priority', 'urgent'],
    ]);
    assert.equal(m.to.uri.scheme, 'tel');
  });

  it('reads Contact wildcard and q/expires parameters', () => {
    const reg = request(
      msg([
        'REGISTER sip:registrar.example.com SIP/2.0',
        'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKr1;rport',
        'To: <sip:201@example.com>',
        'From: <sip:201@example.com>;tag=aa',
        'Call-ID: reg1',
        'CSeq: 2 REGISTER',
        'Contact: <sip:201@10.0.0.5>;q=0.7;expires=3600, sip:201@10.0.0.6;q=1.0',
      ]),
    );
    assert.equal(reg.contact.length, 2);
    assert.equal(reg.via[0]?.params.get('rport'), null);
    const star = request(
      msg(['REGISTER sip:r.example.com SIP/2.0', ...BASE.slice(1, 6), 'CSeq: 3 REGISTER', 'Contact: *', 'Expires: 0']),
    );
    assert.deepEqual(star.contact, [{ wildcard: true }]);
  });

  it('parses responses, including an empty reason phrase', () => {
    const r = ok(msg(['SIP/2.0 180 ', ...BASE.slice(1, 7)]));
    assert.equal(r.kind, 'response');
    if (r.kind === 'response') {
      assert.equal(r.status, 180);
      assert.equal(r.reason, '');
    }
  });

  it('uses Content-Length to cut the body of a datagram and rejects a short body', () => {
    const m = ok(msg([...BASE, 'Content-Length: 3'], 'abcdef'));
    assert.equal(m.body.toString(), 'abc');
    rejected(msg([...BASE, 'Content-Length: 30'], 'abcdef'));
  });

  it('takes the rest of the datagram as body when Content-Length is absent', () => {
    const m = ok(msg(BASE, 'xyz'));
    assert.equal(m.body.toString(), 'xyz');
  });

  const invalid: Array<[string, string, number?]> = [
    ['missing Via', msg([BASE[0]!, ...BASE.slice(2)])],
    ['missing Call-ID', msg(BASE.filter((l) => !l.startsWith('Call-ID')))],
    ['two Call-IDs', msg([...BASE, 'Call-ID: other'])],
    ['two Content-Lengths', msg([...BASE, 'Content-Length: 0', 'Content-Length: 0'])],
    ['negative Content-Length', msg([...BASE, 'Content-Length: -1'])],
    ['CSeq above 2^31', msg([...BASE.slice(0, 6), 'CSeq: 4294967296 INVITE', ...BASE.slice(7)])],

    ['Max-Forwards beyond 255', msg([BASE[0]!, BASE[1]!, 'Max-Forwards: 300', ...BASE.slice(3)])],
    [
      'unterminated quote',
      msg([...BASE.slice(0, 4), 'From: "Alice <sip:alice@a.example.com>;tag=1', ...BASE.slice(5)]),
    ],
    [
      'extra space in request line',
      'INVITE  sip:bob@biloxi.example.com SIP/2.0' + CRLF + BASE.slice(1).join(CRLF) + CRLF + CRLF,
    ],
    ['angle brackets around Request-URI', msg(['INVITE <sip:bob@biloxi.example.com> SIP/2.0', ...BASE.slice(1)])],
    ['bare IPv6 host in URI', msg(['INVITE sip:bob@2001:db8::1 SIP/2.0', ...BASE.slice(1)])],
    ['status code 1000', msg(['SIP/2.0 1000 Huge', ...BASE.slice(1, 7)])],
    ['Request-URI with URI headers', msg(['INVITE sip:bob@biloxi.example.com?Subject=x SIP/2.0', ...BASE.slice(1)])],
    ['a Date that is not GMT', msg([...BASE, 'Date: Fri, 01 Jan 2010 16:00:00 EST'])],
    ['header without colon', msg([...BASE, 'NoColonHere'])],
    ['continuation before any header', 'INVITE sip:a@b SIP/2.0\r\n folded\r\n\r\n'],
    ['SIP/3.0', msg(['INVITE sip:bob@biloxi.example.com SIP/3.0', ...BASE.slice(1)]), 505],
    [
      'invalid UTF-8 in headers',
      Buffer.concat([
        Buffer.from(msg([...BASE, 'Subject: ']).slice(0, -4)),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('\r\n\r\n'),
      ]) as unknown as string,
    ],
  ];
  for (const [name, text, status] of invalid) {
    it(`rejects ${name} with ${status ?? 400}`, () => {
      rejected(text, status ?? 400);
    });
  }

  it('keeps the split headers of a rejected request so a 400 can be addressed', () => {
    const error = rejected(msg([...BASE.slice(0, 6), 'CSeq: 1 INVITE x', ...BASE.slice(7)]));
    assert.equal(error?.kind, 'request');
    assert.ok(error?.headers?.some((h) => h.name === 'Via'));
  });

  it('enforces size, header count and line length limits with a clear error', () => {
    const big = msg(BASE, 'x'.repeat(70000));
    const e1 = rejected(big, 513);
    assert.equal(e1?.code, 'SIP_PARSE_LIMIT');
    const many = msg([...BASE, ...Array.from({ length: 300 }, (_, i) => `X-H${i}: v`)]);
    assert.equal(rejected(many)?.code, 'SIP_PARSE_LIMIT');
    const long = msg([...BASE, `X-Long: ${'a'.repeat(9000)}`]);
    assert.match(rejected(long)?.message ?? '', /longer than 8192/);
    const r = parseMessage(many, { limits: { maxHeaders: 400 } });
    assert.equal(r.ok, true);
  });
});

describe('SIP serializer and builders', () => {
  it('parse -> serialize -> parse is stable', () => {
    const original = request(
      msg(
        [
          ...BASE,
          'Route: <sip:p1.example.com;lr>',
          'Subject: folded',
          ' subject',
          'Content-Type: application/sdp',
          'Content-Length: 10',
        ],
        'v=0\r\no=- 1\r\n',
      ),
    );
    const once = serializeMessage(original);
    const again = request(once.toString('latin1'));
    assert.deepEqual(serializeMessage(again), once);
    assert.deepEqual(again.headers, original.headers);
    assert.deepEqual(again.via, original.via);
    assert.equal(again.body.length, 10);
  });

  it('always writes the real Content-Length', () => {
    const m = request(msg([...BASE, 'Content-Length: 2'], 'ab'));
    const edited = withHeaders(m, { body: Buffer.from('abcdef') });
    assert.match(serializeMessage(edited).toString(), /Content-Length: 6\r\n\r\nabcdef$/);
  });

  it('creates responses per §8.2.6.2 (Vias in order, To tag added)', () => {
    const m = request(
      msg([...BASE.slice(0, 2), 'Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2', ...BASE.slice(2)]),
    );
    const r = createResponse(m, 200, { toTag: 'abc', headers: [['Allow', 'INVITE, ACK']] });
    assert.equal(r.status, 200);
    assert.equal(r.reason, 'OK');
    assert.equal(r.via.length, 2);
    assert.equal(r.to.params.get('tag'), 'abc');
    assert.equal(r.callId, m.callId);
    assert.deepEqual(r.cseq, m.cseq);
    const trying = createResponse(m, 100, { toTag: 'abc' });
    assert.equal(trying.to.params.has('tag'), false);
  });

  it('refuses to build a message with a malformed header', () => {
    assert.throws(
      () =>
        buildRequest({
          method: 'OPTIONS',
          uri: 'sip:a@b.example.com',
          headers: [
            ['Via', 'garbage'],
            ['From', '<sip:a@b>;tag=1'],
            ['To', '<sip:a@b>'],
            ['Call-ID', 'x'],
            ['CSeq', '1 OPTIONS'],
          ],
        }),
      /malformed Via/,
    );
  });
});
