/**
 * The allocation-saving fast paths of the parser (see src/sip/message/interned.ts and host.ts):
 * the one-pass host classifier agrees with the §25.1 grammar written as regular expressions,
 * common parameter names and lists are shared constants that compare equal to freshly parsed
 * ones, and Via parameters are still checked after the per-name lookup.
 */
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import { classifyHost, parseMessage, parseUri, type SipUri } from '../../../../src/sip/message/index.js';
import { classifyHostRange, scanHostPort, scanned } from '../../../../src/sip/message/host.js';
import { commonUriParams, internedSlice } from '../../../../src/sip/message/interned.js';
import { prng } from '../../../fuzz/sip-mutator.js';

/** §25.1 IPv4address and the relaxed hostname, as the parser used to check them. */
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])$/;
const HOSTNAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/;

function referenceHostType(host: string): string | undefined {
  if (host.length === 0 || host.length > 255) return undefined;
  if (IPV4.test(host)) return 'ipv4';
  if (/^[0-9.]*$/.test(host)) return undefined;
  if (HOSTNAME.test(host)) return 'domain';
  return host.includes(':') && isIPv6(host) ? 'ipv6' : undefined;
}

function sipUri(text: string): SipUri {
  const uri = parseUri(text);
  if (uri === undefined || !('host' in uri)) return assert.fail(`expected a SIP URI: ${text}`);
  return uri;
}

describe('one-pass host classification', () => {
  it('agrees with the §25.1 grammar on generated hosts (seeded)', () => {
    const random = prng(4475);
    const alphabet = '0123456789..-_aZz:é !';
    for (let n = 0; n < 20000; n++) {
      let host = '';
      const length = 1 + Math.floor(random() * 16);
      for (let i = 0; i < length; i++) host += alphabet[Math.floor(random() * alphabet.length)];
      assert.equal(classifyHost(host), referenceHostType(host), JSON.stringify(host));
    }
  });

  it('agrees on dotted quads near the limits and on long names', () => {
    const hosts = ['0.0.0.0', '255.255.255.255', '255.255.255.256', '000.1.1.1', '0000.1.1.1', '1.2.3.4.5', '.1.2.3'];
    hosts.push('a'.repeat(63) + '.example', ('a'.repeat(60) + '.').repeat(4) + 'com', 'a'.repeat(256));
    for (const host of hosts) assert.equal(classifyHost(host), referenceHostType(host), host);
  });

  it('reads a host inside a longer text without looking past its end', () => {
    const text = 'x 192.0.2.1.5 y';
    assert.equal(classifyHostRange(text, 2, 11), 'ipv4');
    assert.equal(classifyHostRange(text, 2, 13), undefined);
    assert.equal(classifyHostRange(text, 2, 2), undefined);
  });

  it('reports the host, its type and port of host:port', () => {
    assert.equal(scanHostPort('h.example:5060;x', 0, 14), 'h.example');
    assert.deepEqual({ ...scanned }, { hostType: 'domain', port: 5060 });
    assert.equal(scanHostPort('[2001:db8::1]', 0, 13), '2001:db8::1');
    assert.deepEqual({ ...scanned }, { hostType: 'ipv6', port: undefined });
    assert.equal(scanHostPort('a:1:2', 0, 5), undefined);
    assert.equal(scanHostPort('bad host', 0, 8), undefined);
  });
});

describe('shared parameter names and lists', () => {
  it('returns the common words as constants and everything else as written', () => {
    const text = ';tag=1;branch=z;Tag=2;tags=3';
    assert.equal(internedSlice(text, 1, 4), 'tag');
    assert.equal(internedSlice(text, 7, 13), 'branch');
    assert.equal(internedSlice(text, 16, 19), 'Tag');
    assert.equal(internedSlice(text, 22, 26), 'tags');
    assert.equal(internedSlice(text, 5, 5), '');
  });

  it('shares the Map of a common URI parameter list, equal to a freshly parsed one', () => {
    const a = sipUri('sip:a@192.0.2.1;lr');
    const b = sipUri('sip:b@192.0.2.2;lr');
    assert.equal(a.params, b.params);
    assert.deepEqual(a.params, new Map([['lr', null]]));
    // Another spelling is parsed (and lower-cased) as before, into its own Map
    const upper = sipUri('sip:c@192.0.2.3;LR');
    assert.notEqual(upper.params, a.params);
    assert.deepEqual(upper.params, a.params);
    assert.deepEqual(
      sipUri('sip:d@h.example;transport=udp;lr').params,
      new Map([
        ['transport', 'udp'],
        ['lr', null],
      ]),
    );
  });

  it('recognises only exactly the common list text', () => {
    const text = 'sip:h;user=phone;lr';
    assert.equal(commonUriParams(text, 5, 16)?.get('user'), 'phone');
    assert.equal(commonUriParams(text, 5, 19), undefined);
    assert.equal(commonUriParams(text, 5, 15), undefined);
  });

  it('still rejects a duplicate or malformed parameter after a common one', () => {
    assert.equal(parseUri('sip:h;lr;lr'), undefined);
    assert.equal(parseUri('sip:h;user=phone;user=ip'), undefined);
    assert.equal(parseUri('sip:h;lr=;x'), undefined);
  });
});

describe('Via parameters looked up by name', () => {
  const head = (via: string) =>
    [
      'OPTIONS sip:bob@example.com SIP/2.0',
      `Via: ${via}`,
      'To: <sip:bob@example.com>',
      'From: <sip:alice@example.com>;tag=1',
      'Call-ID: c1@host',
      'CSeq: 1 OPTIONS',
      '',
      '',
    ].join('\r\n');

  it('accepts valid branch, rport, received, ttl and maddr values', () => {
    const via = 'SIP/2.0/UDP h.example;branch=z9hG4bK1;rport=5060;received=[2001:db8::1];ttl=255;maddr=[::1]';
    const result = parseMessage(head(via));
    assert.ok(result.ok);
    assert.equal(result.message.via[0]?.branch, 'z9hG4bK1');
  });

  it('rejects each constrained parameter with a bad value', () => {
    for (const params of [
      ';branch',
      ';branch="a b"',
      ';rport=65536',
      ';received=h.example',
      ';received',
      ';ttl=256',
      ';ttl',
      ';maddr=bad_host!',
      ';maddr',
    ]) {
      const result = parseMessage(head(`SIP/2.0/UDP h.example${params}`));
      assert.equal(result.ok, false, params);
    }
  });
});
