/**
 * Server transport Via rules. RFC 3261 §18.2.1: add `received` when the top Via's sent-by host
 * is a name or differs from the source address. RFC 3581 §4: fill an empty `rport` with the source
 * port and then always add `received`. §18.2.2 + RFC 3581 §4: responses over streams go back on
 * the source connection; over UDP to maddr (sent-by port or 5060), else received at rport or the
 * sent-by port or 5060, else the sent-by address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createResponse,
  getHeaderValues,
  parseMessage,
  parseVia,
  serializeMessage,
  type SipRequest,
  type Via,
} from '../../../../src/sip/message/index.js';
import {
  responseDestination,
  responseReconnectDestination,
  stampReceived,
  type Endpoint,
} from '../../../../src/sip/transport/index.js';

function request(vias: string[], extra: string[] = []): SipRequest {
  const text = [
    'INVITE sip:bob@biloxi.example.com SIP/2.0',
    ...vias.map((v) => `Via: ${v}`),
    'Max-Forwards: 70',
    'To: <sip:bob@biloxi.example.com>',
    'From: <sip:alice@atlanta.example.com>;tag=1',
    'Call-ID: via-test',
    'CSeq: 1 INVITE',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const result = parseMessage(text);
  if (!result.ok || result.message.kind !== 'request') assert.fail(`fixture does not parse: ${JSON.stringify(result)}`);
  return result.message;
}

const udp = (address: string, port: number): Endpoint => ({ protocol: 'udp', address, port });

function via(text: string): Via {
  const parsed = parseVia(text);
  assert.ok(parsed !== undefined, text);
  return parsed;
}

describe('stampReceived', () => {
  it('leaves the request untouched when sent-by equals the source address', () => {
    const original = request(['SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa']);
    assert.equal(stampReceived(original, udp('192.0.2.1', 5060)), original);
    // The port does not matter without rport (§18.2.1 compares the host only).
    assert.equal(stampReceived(original, udp('192.0.2.1', 40000)), original);
  });

  it('adds received when the source address differs (a NAT)', () => {
    const stamped = stampReceived(request(['SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa']), udp('203.0.113.7', 40000));
    assert.equal(stamped.via[0]?.params.get('received'), '203.0.113.7');
    assert.equal(stamped.via[0]?.params.has('rport'), false);
    assert.equal(stamped.via[0]?.branch, 'z9hG4bKa');
    assert.equal(stamped.via[0]?.port, 5060);
  });

  it('adds received when sent-by is a host name, even if it resolves to the source', () => {
    const stamped = stampReceived(
      request(['SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKa']),
      udp('192.0.2.1', 5060),
    );
    assert.equal(stamped.via[0]?.params.get('received'), '192.0.2.1');
  });

  it('fills an empty rport with the source port and adds received even for the same address (RFC 3581 §4)', () => {
    const stamped = stampReceived(
      request(['SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKa']),
      udp('192.0.2.1', 5062),
    );
    assert.equal(stamped.via[0]?.params.get('rport'), '5062');
    assert.equal(stamped.via[0]?.params.get('received'), '192.0.2.1');
    // The parameter keeps its place among the others.
    assert.match(getHeaderValues(stamped, 'Via')[0] ?? '', /;rport=5062;branch=z9hG4bKa;received=192\.0\.2\.1$/);
  });

  it('keeps an rport that already has a value and still adds received', () => {
    const stamped = stampReceived(
      request(['SIP/2.0/UDP 192.0.2.1:5060;rport=5070;branch=z9hG4bKa']),
      udp('192.0.2.1', 5062),
    );
    assert.equal(stamped.via[0]?.params.get('rport'), '5070');
    assert.equal(stamped.via[0]?.params.get('received'), '192.0.2.1');
  });

  it('replaces a received parameter that does not match the source', () => {
    const stamped = stampReceived(
      request(['SIP/2.0/UDP 10.0.0.5;received=198.51.100.1;branch=z9hG4bKa']),
      udp('203.0.113.7', 5060),
    );
    assert.equal(stamped.via[0]?.params.get('received'), '203.0.113.7');
  });

  it('compares IPv6 addresses by value and writes received without brackets', () => {
    const same = request(['SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKa']);
    assert.equal(stampReceived(same, udp('2001:DB8:0:0::1', 5060)), same);

    const stamped = stampReceived(
      request(['SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bKa']),
      udp('2001:db8::9', 6000),
    );
    assert.equal(stamped.via[0]?.params.get('received'), '2001:db8::9');
    assert.equal(stamped.via[0]?.params.get('rport'), '6000');
    const reparsed = parseMessage(serializeMessage(stamped));
    assert.ok(reparsed.ok);
    assert.equal(reparsed.message.via[0]?.params.get('received'), '2001:db8::9');
    assert.equal(reparsed.message.via[0]?.host, '2001:db8::1');
  });

  it('rewrites only the top Via of a comma list and keeps the other Vias verbatim and in order', () => {
    const original = request(
      [
        'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKtop, SIP/2.0/UDP proxy1.example.com;branch=z9hG4bKmid',
        'SIP/2.0/TCP [2001:db8::2]:5061;branch=z9hG4bKlow;received=2001:db8::3',
      ],
      ['X-Trace: kept'],
    );
    const stamped = stampReceived(original, udp('203.0.113.7', 40000));
    const values = getHeaderValues(stamped, 'Via');
    assert.equal(values.length, 3);
    assert.equal(values[0], 'SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKtop;received=203.0.113.7');
    assert.deepEqual(values.slice(1), getHeaderValues(original, 'Via').slice(1));
    assert.deepEqual(
      stamped.via.map((v) => v.branch),
      ['z9hG4bKtop', 'z9hG4bKmid', 'z9hG4bKlow'],
    );
    assert.equal(stamped.callId, original.callId);
    assert.deepEqual(
      stamped.headers.filter((h) => h.name !== 'Via'),
      original.headers.filter((h) => h.name !== 'Via'),
    );
  });
});

describe('responseDestination', () => {
  it('sends responses to requests over TCP or TLS back to the source connection', () => {
    const top = via('SIP/2.0/TCP 10.0.0.5:5060;received=203.0.113.7;branch=z9hG4bKa');
    const tcp: Endpoint = { protocol: 'tcp', address: '203.0.113.7', port: 40000 };
    const tls: Endpoint = { protocol: 'tls', address: '2001:db8::9', port: 40001 };
    assert.deepEqual(responseDestination(top, tcp), tcp);
    assert.deepEqual(responseDestination(top, tls), tls);
  });

  it('uses received and rport over UDP (RFC 3581 §4)', () => {
    const top = via('SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.7;branch=z9hG4bKa');
    assert.deepEqual(responseDestination(top, udp('203.0.113.7', 40000)), udp('203.0.113.7', 40000));
  });

  it('uses received with the sent-by port, or 5060, without rport (§18.2.2)', () => {
    assert.deepEqual(
      responseDestination(
        via('SIP/2.0/UDP 10.0.0.5:5070;received=203.0.113.7;branch=z9hG4bKa'),
        udp('203.0.113.7', 40000),
      ),
      udp('203.0.113.7', 5070),
    );
    assert.deepEqual(
      responseDestination(
        via('SIP/2.0/UDP host.example.com;received=203.0.113.7;branch=z9hG4bKa'),
        udp('203.0.113.7', 40000),
      ),
      udp('203.0.113.7', 5060),
    );
  });

  it('uses the sent-by address and port when there is no received', () => {
    assert.deepEqual(
      responseDestination(via('SIP/2.0/UDP 192.0.2.1:5080;branch=z9hG4bKa'), udp('192.0.2.1', 5080)),
      udp('192.0.2.1', 5080),
    );
    assert.deepEqual(
      responseDestination(via('SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa'), udp('192.0.2.1', 41000)),
      udp('192.0.2.1', 5060),
    );
    assert.deepEqual(
      responseDestination(via('SIP/2.0/UDP [2001:db8::1]:5090;branch=z9hG4bKa'), udp('2001:db8::1', 5090)),
      udp('2001:db8::1', 5090),
    );
  });

  it('uses rport with the sent-by address when received is absent', () => {
    assert.deepEqual(
      responseDestination(via('SIP/2.0/UDP 192.0.2.1:5060;rport=41000;branch=z9hG4bKa'), udp('192.0.2.1', 41000)),
      udp('192.0.2.1', 41000),
    );
  });

  it('sends to maddr at the sent-by port or 5060 (§18.2.2)', () => {
    assert.deepEqual(
      responseDestination(
        via('SIP/2.0/UDP 10.0.0.5:5070;maddr=239.255.255.1;ttl=1;received=203.0.113.7;branch=z9hG4bKa'),
        udp('203.0.113.7', 40000),
      ),
      udp('239.255.255.1', 5070),
    );
    assert.deepEqual(
      responseDestination(via('SIP/2.0/UDP 10.0.0.5;maddr=[ff02::1];branch=z9hG4bKa'), udp('203.0.113.7', 40000)),
      udp('ff02::1', 5060),
    );
  });

  it('uses an IPv6 received value written with or without brackets', () => {
    assert.deepEqual(
      responseDestination(
        via('SIP/2.0/UDP [2001:db8::1];rport=6000;received=2001:db8::9;branch=z9hG4bKa'),
        udp('2001:db8::9', 6000),
      ),
      udp('2001:db8::9', 6000),
    );
    assert.deepEqual(
      responseDestination(
        via('SIP/2.0/UDP [2001:db8::1];received=[2001:db8::9];branch=z9hG4bKa'),
        udp('2001:db8::9', 6000),
      ),
      udp('2001:db8::9', 5060),
    );
  });

  it('answers a NATed UDP client at its public address and port end to end', () => {
    const source = udp('203.0.113.7', 40000);
    const stamped = stampReceived(request(['SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKa']), source);
    const response = createResponse(stamped, 200, { toTag: 'x' });
    assert.ok(response.via[0] !== undefined);
    assert.deepEqual(responseDestination(response.via[0], source), source);
  });

  it('reconnects for a closed stream to received at the sent-by port, else the default port', () => {
    const tcp: Endpoint = { protocol: 'tcp', address: '203.0.113.7', port: 40000 };
    assert.deepEqual(
      responseReconnectDestination(via('SIP/2.0/TCP 10.0.0.5:5070;received=203.0.113.7;branch=z9hG4bKa'), tcp),
      {
        protocol: 'tcp',
        address: '203.0.113.7',
        port: 5070,
      },
    );
    assert.deepEqual(
      responseReconnectDestination(via('SIP/2.0/TLS 192.0.2.1;branch=z9hG4bKa'), { ...tcp, protocol: 'tls' }),
      {
        protocol: 'tls',
        address: '192.0.2.1',
        port: 5061,
      },
    );
    assert.equal(responseReconnectDestination(via('SIP/2.0/TCP host.example.com;branch=z9hG4bKa'), tcp), undefined);
  });
});
