/**
 * UserAgentCore with the B2BUA front, on virtual time with captured sends. Requirements:
 *  - RFC 3261 §8.2: checks in order (416, 483, 501, 420, 415/406), 400 for CSeq method mismatch;
 *  - §8.2.6.2: responses copy Via/From/To/Call-ID/CSeq, add a To tag; malformed requests with the
 *    essentials get a 400 from their raw headers, others are dropped;
 *  - §17.2: retransmitted requests are absorbed (the user sees one), the response is resent;
 *    INVITE gets 100 Trying after 200 ms without a response;
 *  - §9.2: CANCEL -> 481 without a match, 200 + notification with one;
 *  - RFC 3581: the response goes to the source port when rport is present;
 *  - peer ACL: forbidden sources get a stateless 403, dropped sources nothing; neither reaches the user.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { B2bua, PeerTable } from '../../src/b2bua/index.js';
import { createLogger } from '../../src/observability/index.js';
import { parseMessage, type SipResponse } from '../../src/sip/message/index.js';
import { FakeClock } from '../../src/sip/transaction/fake-clock.js';
import type { Endpoint, Transport } from '../../src/sip/transport/transport.js';
import { addressesElement, UserAgentCore, type CoreEvent, type IncomingRequest } from '../../src/sip/ua/index.js';

const PEER: Endpoint = { protocol: 'udp', address: '10.0.0.5', port: 5070 };
const STRANGER: Endpoint = { protocol: 'udp', address: '192.0.2.66', port: 5060 };
const DUMMY_TRANSPORT: Transport = {
  protocol: 'udp',
  reliable: false,
  local: { protocol: 'udp', address: '127.0.0.1', port: 5060 },
  send: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

function request(
  method: string,
  extra: string[] = [],
  options: { uri?: string; cseqMethod?: string; branch?: string } = {},
): Buffer {
  return Buffer.from(
    [
      `${method} ${options.uri ?? 'sip:+4930123456500@callrec.example.com'} SIP/2.0`,
      `Via: SIP/2.0/UDP 10.0.0.5:5060;branch=${options.branch ?? 'z9hG4bKabc1'};rport`,
      'Max-Forwards: 70',
      'From: <sip:201@pbx.example.com>;tag=f1',
      'To: <sip:+4930123456500@callrec.example.com>',
      'Call-ID: call-1@10.0.0.5',
      `CSeq: 7 ${options.cseqMethod ?? method}`,
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

describe('UserAgentCore with the B2BUA front', () => {
  let clock: FakeClock;
  let sent: Array<{ response: SipResponse; destination: Endpoint }>;
  let seen: IncomingRequest[];
  let cancelled: string[];
  let events: CoreEvent[];
  let core: UserAgentCore;
  let onRequestOverride: ((incoming: IncomingRequest) => void) | undefined;

  function build(onNonPeer: '403' | 'drop' = '403') {
    clock = new FakeClock();
    sent = [];
    seen = [];
    cancelled = [];
    events = [];
    onRequestOverride = undefined;
    const b2bua = new B2bua({
      peers: new PeerTable({
        trunk: { addresses: ['198.51.100.0/24'], uri: 'sip:198.51.100.1' },
        pbx: { addresses: ['10.0.0.5'], uri: 'sip:10.0.0.5' },
      }),
      onNonPeer,
      capabilities: {
        allow: ['OPTIONS', 'ACK', 'CANCEL', 'INVITE'],
        accept: ['application/sdp'],
        supported: ['100rel'],
      },
      logger: createLogger({ level: 'silent' }),
      clock: new FakeClock(),
      timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 },
      signalling: {
        sendRequest: () => assert.fail('no requests expected'),
        sendStateless: () => Promise.resolve(),
        resolve: () => Promise.reject(new Error('no routing in this test')),
        localAddress: () => ({ host: '127.0.0.1', port: 5060 }),
      },
    });
    core = new UserAgentCore({
      clock,
      send: (data, destination) => {
        const parsed = parseMessage(data);
        assert.ok(parsed.ok && parsed.message.kind === 'response', `sent something unparseable: ${data.toString()}`);
        if (parsed.ok && parsed.message.kind === 'response') sent.push({ response: parsed.message, destination });
        return Promise.resolve();
      },
      checks: {
        implementedMethods: ['OPTIONS', 'ACK', 'CANCEL', 'INVITE'],
        supportedExtensions: ['100rel'],
        acceptedContentTypes: ['application/sdp'],
        isLocal: addressesElement,
      },
      screenSource: (source) => b2bua.screenSource(source),
      onRequest: (incoming) => {
        seen.push(incoming);
        if (onRequestOverride !== undefined) onRequestOverride(incoming);
        else if (incoming.request.method !== 'INVITE') b2bua.handleRequest(incoming);
      },
      onCancel: (invite) => cancelled.push(invite.callId),
      onEvent: (event) => events.push(event),
    });
  }
  const receive = (data: Buffer, source: Endpoint = PEER) => core.receive({ data, source, transport: DUMMY_TRANSPORT });
  const statuses = () => sent.map((s) => s.response.status);

  beforeEach(() => build());

  it('answers OPTIONS with 200, Allow/Accept/Supported, a To tag, to the rport source', () => {
    receive(request('OPTIONS', [], { uri: 'sip:callrec.example.com' }));
    assert.deepEqual(statuses(), [200]);
    const { response, destination } = sent[0]!;
    assert.deepEqual(destination, PEER);
    assert.equal(response.via[0]?.params.get('rport'), '5070');
    // RFC 3581 §4: with rport, received is added even when it equals sent-by
    assert.equal(response.via[0]?.params.get('received'), '10.0.0.5');
    assert.ok(response.to.params.get('tag'));
    assert.equal(response.callId, 'call-1@10.0.0.5');
    assert.ok(response.headers.some((h) => h.name === 'Allow' && h.value.includes('OPTIONS')));
    assert.ok(response.headers.some((h) => h.name === 'Supported' && h.value === '100rel'));
  });

  it('absorbs a retransmitted request and resends the same response', () => {
    receive(request('OPTIONS'));
    receive(request('OPTIONS'));
    assert.equal(seen.length, 1);
    assert.deepEqual(statuses(), [200, 200]);
    assert.equal(sent[0]!.response.to.params.get('tag'), sent[1]!.response.to.params.get('tag'));
  });

  it('sends 100 Trying for an INVITE left unanswered for 200 ms', () => {
    receive(request('INVITE', ['Contact: <sip:201@10.0.0.5>']));
    clock.advance(199);
    assert.deepEqual(statuses(), []);
    clock.advance(1);
    assert.deepEqual(statuses(), [100]);
    assert.equal(sent[0]!.response.to.params.has('tag'), false, '100 carries no To tag');
  });

  it('answers CANCEL 481 without a pending INVITE and 200 (+ notification) with one', () => {
    receive(request('CANCEL', [], { branch: 'z9hG4bKnothing' }));
    assert.deepEqual(statuses(), [481]);
    receive(request('INVITE', ['Contact: <sip:201@10.0.0.5>'], { branch: 'z9hG4bKinv' }));
    receive(request('CANCEL', [], { branch: 'z9hG4bKinv' }));
    assert.deepEqual(statuses(), [481, 200]);
    assert.deepEqual(cancelled, ['call-1@10.0.0.5']);
    assert.equal(seen.filter((s) => s.request.method === 'CANCEL').length, 0, "CANCEL is the core's business");
  });

  const rejections: Array<[string, Buffer, number, string?]> = [
    ['an unknown URI scheme', request('OPTIONS', [], { uri: 'mailto:a@b.example.com' }), 416],
    [
      'Max-Forwards 0 toward someone else',
      Buffer.from(request('INVITE').toString().replace('Max-Forwards: 70', 'Max-Forwards: 0')),
      483,
    ],
    ['an unimplemented method', request('SUBSCRIBE', ['Event: presence']), 501, 'Allow'],
    ['an unknown Require tag', request('OPTIONS', ['Require: teleport']), 420, 'Unsupported'],
    [
      'an INVITE body that is not SDP',
      Buffer.from(
        request('INVITE', ['Content-Type: text/plain'])
          .toString()
          .replace('Content-Length: 0\r\n\r\n', 'Content-Length: 2\r\n\r\nhi'),
      ),
      415,
    ],
  ];
  for (const [name, data, status, header] of rejections) {
    it(`answers ${name} with ${status} and never bothers the user`, () => {
      receive(data);
      assert.deepEqual(statuses(), [status]);
      assert.equal(seen.length, 0);
      if (header !== undefined) assert.ok(sent[0]!.response.headers.some((h) => h.name === header));
      assert.ok(events.some((e) => e.type === 'request-rejected'));
    });
  }

  it('processes OPTIONS with Max-Forwards 0 addressed to callrec itself', () => {
    receive(
      Buffer.from(
        request('OPTIONS', [], { uri: 'sip:callrec.example.com' })
          .toString()
          .replace('Max-Forwards: 70', 'Max-Forwards: 0'),
      ),
    );
    assert.deepEqual(statuses(), [200]);
  });

  it('answers a CSeq method mismatch statelessly: 400, or 501 for an unknown method', () => {
    receive(request('OPTIONS', [], { cseqMethod: 'INVITE' }));
    receive(request('FOO', [], { cseqMethod: 'INVITE', branch: 'z9hG4bKfoo' }));
    assert.deepEqual(statuses(), [400, 501]);
    assert.equal(sent[0]!.response.cseq.method, 'INVITE', 'CSeq copied as received');
  });

  it('answers a malformed request with 400 from its raw headers, naming the fault', () => {
    receive(Buffer.from(request('OPTIONS').toString().replace('Max-Forwards: 70', 'Max-Forwards: lots')));
    assert.deepEqual(statuses(), [400]);
    assert.match(sent[0]!.response.reason, /Bad Request \(malformed Max-Forwards header\)/);
    assert.equal(sent[0]!.response.callId, 'call-1@10.0.0.5');
  });

  it('drops garbage, responses to nothing and malformed requests lacking the essentials', () => {
    receive(Buffer.from('\u0000\u0001garbage'));
    receive(
      Buffer.from(
        request('OPTIONS')
          .toString()
          .replace(/Call-ID: .*\r\n/, '')
          .replace('Max-Forwards: 70', 'Max-Forwards: x'),
      ),
    );
    receive(
      Buffer.from(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n',
      ),
    );
    assert.deepEqual(statuses(), []);
    assert.equal(core.stats().parseErrors, 2);
  });

  it('answers 500 when the user throws, and reports the error', () => {
    onRequestOverride = () => {
      throw new Error('bug');
    };
    receive(request('OPTIONS'));
    assert.deepEqual(statuses(), [500]);
    assert.ok(events.some((e) => e.type === 'user-error'));
  });

  it('refuses a non-peer with a stateless 403 and tells the user nothing', () => {
    receive(request('OPTIONS'), STRANGER);
    receive(request('INVITE', [], { branch: 'z9hG4bKx2' }), STRANGER);
    assert.deepEqual(statuses(), [403, 403]);
    assert.equal(seen.length, 0);
    assert.equal(sent[0]!.response.via[0]?.params.get('received'), '192.0.2.66');
    assert.equal(core.stats().forbidden, 2);
    receive(Buffer.from('garbage'), STRANGER);
    assert.deepEqual(statuses(), [403, 403], 'no 400 for a non-peer');
  });

  it('sends nothing to a non-peer with onReject "drop"', () => {
    build('drop');
    receive(request('OPTIONS'), STRANGER);
    assert.deepEqual(statuses(), []);
    assert.equal(core.stats().droppedSources, 1);
  });
});
