/**
 * RFC 4475 (SIP torture test messages) and RFC 5118 (IPv6 torture tests), from the RFCs'
 * bit-exact archives under test/fixtures/sip/. Requirements verified:
 *  - every message the RFCs call valid parses, with the facts the RFC text states (checks);
 *  - every malformed message is rejected with the status the RFC suggests (400, 505);
 *  - syntactically valid messages that a UAS must refuse get the RFC's status from the §8.2
 *    request checks (416, 420, 415, 406, 483, 501) — or, for 400, may already fail to parse.
 * RFC 5118's archive uses bare LF line ends and two wrong Content-Length values (4.6, 4.8); those
 * messages are checked after converting to CRLF with the real body length, since they test IPv6
 * handling, not framing. The raw LF form is parsed too where its Content-Length is consistent.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getHeaderValues, isSipUri, parseMessage, type SipMessage } from '../../src/sip/message/index.js';
import { checkRequest, type RequestChecks } from '../../src/sip/ua/request-checks.js';
import { fixturePath } from '../support/paths.js';

interface Expectation {
  rfc: number;
  section: string;
  name: string;
  summary: string;
  outcome: 'valid' | 'invalid' | 'semantic';
  status?: number;
  checks: Record<string, unknown>;
}

const B2BUA_CHECKS: RequestChecks = {
  implementedMethods: [
    'INVITE',
    'ACK',
    'CANCEL',
    'BYE',
    'OPTIONS',
    'REGISTER',
    'PRACK',
    'UPDATE',
    'INFO',
    'REFER',
    'NOTIFY',
    'SUBSCRIBE',
    'MESSAGE',
  ],
  supportedExtensions: ['100rel', 'timer', 'replaces', 'path'],
  acceptedContentTypes: ['application/sdp'],
  isLocal: () => false,
};

function crlfWithRealLength(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split + 4);
  const fixedHead = head.replace(/^Content-Length:.*$/im, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  return Buffer.from(`${fixedHead}\r\n\r\n${body}`, 'latin1');
}

function verifyChecks(message: SipMessage, checks: Record<string, unknown>): void {
  for (const [key, expected] of Object.entries(checks)) {
    const topVia = message.via[0];
    const actual: Record<string, () => unknown> = {
      kind: () => message.kind,
      method: () => (message.kind === 'request' ? message.method : undefined),
      status: () => (message.kind === 'response' ? message.status : undefined),
      uriScheme: () => (message.kind === 'request' ? message.uri.scheme : undefined),
      uriUser: () => (message.kind === 'request' && isSipUri(message.uri) ? message.uri.user : undefined),
      uriHost: () => (message.kind === 'request' && isSipUri(message.uri) ? message.uri.host : undefined),
      uriPort: () => (message.kind === 'request' && isSipUri(message.uri) ? message.uri.port : undefined),
      callId: () => message.callId,
      cseq: () => ({ seq: message.cseq.seq, method: message.cseq.method }),
      maxForwards: () => message.maxForwards,
      viaCount: () => message.via.length,
      topViaHost: () => topVia?.host,
      topViaPort: () => topVia?.port,
      topViaBranch: () => topVia?.branch,
      topViaTransport: () => topVia?.transport,
      fromDisplayName: () => message.from.displayName ?? null,
      toDisplayName: () => message.to.displayName ?? null,
      fromTag: () => message.from.params.get('tag') ?? null,
      toTag: () => message.to.params.get('tag') ?? null,
      contactCount: () => message.contact.length,
      bodyLength: () => message.body.length,
      headers: () => {
        const out: Record<string, string[]> = {};
        for (const name of Object.keys(expected as Record<string, string[]>)) {
          out[name] = message.headers.filter((h) => h.name.toLowerCase() === name.toLowerCase()).map((h) => h.value);
        }
        return out;
      },
    };
    const read = actual[key];
    assert.ok(read !== undefined, `unknown check key ${key}`);
    assert.deepEqual(read(), expected, `check ${key}`);
  }
}

for (const rfc of ['rfc4475', 'rfc5118']) {
  describe(`${rfc.toUpperCase()} torture messages`, () => {
    const folder = fixturePath('sip', rfc);
    const names = readdirSync(folder)
      .filter((n) => n.endsWith('.sip'))
      .sort();
    it('has fixtures', () => assert.ok(names.length > 10));
    for (const file of names) {
      const expectation = JSON.parse(
        readFileSync(join(folder, file.replace(/\.sip$/, '.expect.json')), 'utf8'),
      ) as Expectation;
      const raw = readFileSync(join(folder, file));
      const rawResult = parseMessage(raw);
      const usable = raw.includes('\n\n') && (rawResult.ok || rawResult.error.code !== 'SIP_PARSE_BODY');
      const bytes = rfc === 'rfc5118' && !usable ? crlfWithRealLength(raw) : raw;
      const title = `§${expectation.section} ${expectation.name}: ${expectation.outcome}${expectation.status === undefined ? '' : ` ${expectation.status}`}`;
      it(title, () => {
        const result = parseMessage(bytes);
        if (expectation.outcome === 'invalid') {
          assert.equal(result.ok, false, `${expectation.name} must be rejected: ${expectation.summary}`);
          if (!result.ok) assert.equal(result.error.suggestedStatus, expectation.status);
          return;
        }
        if (expectation.outcome === 'semantic' && expectation.status === 400 && !result.ok) {
          assert.equal(result.error.suggestedStatus, 400);
          return;
        }
        if (!result.ok) assert.fail(`${expectation.name} must parse: ${result.error.code} ${result.error.message}`);
        verifyChecks(result.message, expectation.checks);
        if (expectation.outcome === 'semantic') {
          assert.equal(result.message.kind, 'request');
          if (result.message.kind !== 'request') return;
          const rejection = checkRequest(result.message, B2BUA_CHECKS);
          assert.equal(rejection?.status, expectation.status, `UAS checks for ${expectation.name}`);
        } else if (result.message.kind === 'request') {
          assert.equal(checkRequest(result.message, B2BUA_CHECKS), undefined, 'a valid request passes the UAS checks');
        }
      });
    }
  });
}

describe('RFC 5118 raw archive form (bare LF line ends)', () => {
  it('parses LF-only messages whose Content-Length is consistent', () => {
    const folder = fixturePath('sip', 'rfc5118');
    let parsed = 0;
    for (const file of readdirSync(folder).filter((n) => n.endsWith('.sip'))) {
      const expectation = JSON.parse(
        readFileSync(join(folder, file.replace(/\.sip$/, '.expect.json')), 'utf8'),
      ) as Expectation;
      if (expectation.outcome !== 'valid' || file.includes('sdp')) continue;
      const result = parseMessage(readFileSync(join(folder, file)));
      assert.equal(result.ok, true, `${file}: ${result.ok ? '' : result.error.message}`);
      parsed++;
    }
    assert.ok(parsed >= 5);
  });

  it('reads the Unsupported option tags of bext01 into the 420', () => {
    const result = parseMessage(readFileSync(fixturePath('sip', 'rfc4475', '3.3.5-bext01.sip')));
    assert.ok(result.ok && result.message.kind === 'request');
    if (!result.ok || result.message.kind !== 'request') return;
    const rejection = checkRequest(result.message, B2BUA_CHECKS);
    assert.deepEqual(rejection?.headers, [
      [
        'Unsupported',
        'nothingSupportsThis, nothingSupportsThisEither, noProxiesSupportThis, norDoAnyProxiesSupportThis',
      ],
    ]);
    assert.deepEqual(getHeaderValues(result.message, 'Require'), ['nothingSupportsThis', 'nothingSupportsThisEither']);
  });
});
