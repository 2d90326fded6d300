/**
 * The header values are read in place from the decoded header section, so every search in a
 * value must stop at the value's end: characters of the following lines must never complete or
 * split a value. Also covers the scanners that replaced regular expressions (hosts, ports,
 * CSeq, Call-ID, header names) and the verbatim-URI check used by the serializer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalHeaderName,
  classifyHost,
  formatUri,
  parseCSeq,
  parseHostPort,
  parseMessage,
  parseUri,
  type SipRequest,
} from '../../../../src/sip/message/index.js';
import { isValidCallId } from '../../../../src/sip/message/header-values.js';
import { parseRequestUri } from '../../../../src/sip/message/uri.js';
import { prng } from '../../../fuzz/sip-mutator.js';

const HEAD = [
  'OPTIONS sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1',
  'To: <sip:bob@example.com>',
  'From: <sip:alice@example.com>;tag=1',
  'Call-ID: c1@host',
  'CSeq: 1 OPTIONS',
];

function parse(lines: string[]) {
  return parseMessage(lines.join('\r\n') + '\r\n\r\n');
}

function request(lines: string[]): SipRequest {
  const result = parse(lines);
  if (!result.ok) assert.fail(`expected a parse, got ${result.error.message}`);
  return result.message as SipRequest;
}

function withLine(prefix: string, line: string, ...after: string[]): string[] {
  return [...HEAD.map((l) => (l.startsWith(prefix) ? line : l)), ...after];
}

describe('values read in place', () => {
  it('does not close a name-addr with a ">" of a later line', () => {
    assert.equal(parse(withLine('To:', 'To: <sip:bob@example.com', 'Subject: a > b')).ok, false);
  });

  it('does not split a single Route on a comma of a later line', () => {
    const m = request([...HEAD, 'Route: <sip:p1.example.com;lr>', 'Allow: INVITE, ACK']);
    assert.equal(m.route.length, 1);
  });

  it('does not take the user part of a URI from an "@" of a later line', () => {
    const m = request([...HEAD, 'Contact: <sip:10.0.0.1>', 'Subject: mail me at x@y']);
    const contact = m.contact[0];
    assert.ok(contact !== undefined && contact.wildcard !== true);
    assert.equal(contact.uri.scheme, 'sip');
    assert.equal('user' in contact.uri ? contact.uri.user : 'absent', undefined);
  });

  it('does not read a port or URI parameters past the value', () => {
    const m = request(withLine('To:', 'To: sip:bob@example.com', 'Subject: ;x=1 :5060 ?a=b'));
    assert.equal('port' in m.to.uri ? m.to.uri.port : 'absent', undefined);
    assert.equal('params' in m.to.uri ? m.to.uri.params.size : -1, 0);
  });

  it('does not end a quoted display name with a quote of a later line', () => {
    assert.equal(parse(withLine('From:', 'From: "Alice <sip:alice@example.com>;tag=1', 'Subject: "')).ok, false);
  });

  it('reads an unterminated IPv6 Via host as malformed even if a "]" follows later', () => {
    assert.equal(parse(withLine('Via:', 'Via: SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1', 'Subject: ]')).ok, false);
  });

  it('reads folded values (not in place) the same way', () => {
    const m = request(withLine('From:', 'From: "Alice"\r\n <sip:alice@example.com>\r\n ;tag=9'));
    assert.equal(m.from.displayName, 'Alice');
    assert.equal(m.from.params.get('tag'), '9');
  });
});

describe('the end of the header section', () => {
  const lfHead = HEAD.join('\n') + '\n\n';

  it('ends at an LF-only blank line even when a CRLF CRLF follows in the body', () => {
    const result = parseMessage(lfHead + 'body\r\n\r\nmore');
    assert.ok(result.ok);
    assert.equal(result.message.body.toString(), 'body\r\n\r\nmore');
    assert.equal(result.message.headers.length, HEAD.length - 1);
  });

  it('does not read a non-UTF-8 body after an LF-only blank line as header text', () => {
    const data = Buffer.concat([Buffer.from(lfHead), Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a])]);
    const result = parseMessage(data);
    assert.ok(result.ok);
    assert.deepEqual([...result.message.body], [0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]);
  });

  it('reports a malformed last line as it reads before an LF-only blank line', () => {
    // Bare LF line ends: the CR before the blank line's LF belongs to the line end (§7.5)
    const result = parseMessage(HEAD.join('\n') + '\nX-Broken\r\r\n\nDate: x\r\n\r\n');
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.error.message, 'malformed header line "X-Broken"');
  });

  it('still rejects non-UTF-8 header text', () => {
    const data = Buffer.concat([
      Buffer.from(HEAD.join('\r\n') + '\r\nSubject: '),
      Buffer.from([0xff]),
      Buffer.from('\r\n\r\n'),
    ]);
    const result = parseMessage(data);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.error.message, 'header section is not valid UTF-8');
  });
});

describe('scanners', () => {
  it('classifies IPv4 addresses, hostnames and IPv6 references', () => {
    const cases: Array<[string, string | undefined]> = [
      ['192.0.2.1', 'ipv4'],
      ['01.2.3.4', 'ipv4'],
      ['256.1.1.1', undefined],
      ['1.2.3', undefined],
      ['1.2.3.4.', undefined],
      ['1..2.3', undefined],
      ['1234.1.1.1', undefined],
      ['example.com', 'domain'],
      ['example.com.', 'domain'],
      ['a-b_c.example', 'domain'],
      ['1.2.3.a', 'domain'],
      ['-bad.example', undefined],
      ['bad-.example', undefined],
      ['bad..example', undefined],
      ['.', undefined],
      ['', undefined],
      ['2001:db8::1', 'ipv6'],
      ['2001:db8::zz', undefined],
      ['host!', undefined],
    ];
    for (const [host, expected] of cases) assert.equal(classifyHost(host), expected, host);
  });

  it('parses ports of 1 to 5 digits up to 65535', () => {
    assert.equal(parseHostPort('h.example:5060')?.port, 5060);
    assert.equal(parseHostPort('[::1]:65535')?.port, 65535);
    assert.equal(parseHostPort('h.example:65536'), undefined);
    assert.equal(parseHostPort('h.example:'), undefined);
    assert.equal(parseHostPort('h.example:123456'), undefined);
    assert.equal(parseHostPort('h.example:5o60'), undefined);
    assert.equal(parseHostPort('[::1]x'), undefined);
  });

  it('parses CSeq with the limits of §8.1.1.5 and a token method', () => {
    assert.deepEqual(parseCSeq(' 1 \tINVITE '), { seq: 1, method: 'INVITE' });
    assert.deepEqual(parseCSeq('2147483647 FOO'), { seq: 2147483647, method: 'FOO' });
    for (const bad of [
      '2147483648 INVITE',
      '12345678901 INVITE',
      'INVITE',
      '1',
      '1 ',
      '1INVITE',
      '1 IN VITE',
      '-1 A',
    ]) {
      assert.equal(parseCSeq(bad), undefined, bad);
    }
  });

  it('checks Call-ID as word [@ word]', () => {
    for (const good of ['abc', 'a@b', 'a.b-c!%*_+`\'~()<>:\\"/[]?{}@x']) assert.ok(isValidCallId(good), good);
    for (const bad of ['', '@a', 'a@', 'a@b@c', 'a b', 'a\u00e9']) assert.ok(!isValidCallId(bad), bad);
  });

  it('finds registered header names in any case and compact form', () => {
    assert.equal(canonicalHeaderName('call-id'), 'Call-ID');
    assert.equal(canonicalHeaderName('CALL-ID'), 'Call-ID');
    assert.equal(canonicalHeaderName('I'), 'Call-ID');
    assert.equal(canonicalHeaderName('Www-Authenticate'), 'WWW-Authenticate');
    assert.equal(canonicalHeaderName('X-Unknown'), 'X-Unknown');
    assert.equal(canonicalHeaderName('Call_ID'), 'Call_ID');
    assert.equal(canonicalHeaderName('@'), '@');
  });
});

describe('verbatim Request-URIs', () => {
  function verbatim(text: string): boolean | undefined {
    return parseRequestUri(text, 0, text.length)?.verbatim;
  }

  it('recognises URIs that format back to the same text', () => {
    for (const text of ['sip:bob@example.com;user=phone', 'sips:a:pw@[2001:db8::1]:5061;lr', 'sip:h:0;x=Y']) {
      assert.equal(verbatim(text), true, text);
      assert.equal(formatUri(parseUri(text) ?? assert.fail(text)), text);
    }
    for (const text of ['SIP:bob@h', 'sIp:bob@h', 'SIPS:bob@h', 'sip:%62ob@h', 'sip:b:%41@h', 'sip:bob@h;User=x']) {
      assert.equal(verbatim(text), false, text);
    }
    for (const text of ['sip:bob@h;x=%41', 'sip:bob@h:05060', 'sip:bob@h:00', 'tel:+49-30-1', 'urn:x:y']) {
      assert.equal(verbatim(text), false, text);
    }
  });

  it('never calls a URI verbatim that formats differently (seeded mutations)', () => {
    const seeds = [
      'sip:alice@example.com',
      'sips:Bob:pw@[2001:db8::1]:5061;transport=tcp;lr',
      'sip:+49@h:5060;user=phone',
    ];
    const pieces = ['A', 'a', '%', '%41', '0', ':0', ':', ';', '=', '?', '&', '@', '[', ']', 'SIP', ';LR', '5060', 's'];
    const random = prng(7);
    let verbatimCount = 0;
    for (let i = 0; i < 20000; i++) {
      let text = seeds[i % seeds.length] as string;
      for (let round = 0; round < 2; round++) {
        const at = Math.floor(random() * (text.length + 1));
        text = text.slice(0, at) + (pieces[Math.floor(random() * pieces.length)] as string) + text.slice(at);
      }
      const parsed = parseRequestUri(text, 0, text.length);
      if (parsed === undefined || !parsed.verbatim) continue;
      verbatimCount++;
      assert.equal(formatUri(parsed.uri), text);
    }
    assert.ok(verbatimCount > 1000, `only ${verbatimCount} verbatim`);
  });
});
