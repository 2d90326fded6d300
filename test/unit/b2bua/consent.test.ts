/**
 * Consent by legal basis (SPEC §4) as a table: for each legal basis, what a key during the
 * announcement, the end of the announcement, a key after it, the timeout and a failed announcement
 * lead to, and what `onRefusal` turns a refusal into. Requirements verified:
 *  - obligation: announcement only; keys change nothing; recorded once it ended (or failed);
 *  - consent: recorded only after the accept key (during or within the timeout after the
 *    announcement); the refuse key, the timeout or a failed announcement apply onRefusal
 *    (connect unrecorded, reject with the status, route to the target); other keys are ignored;
 *  - opt-out: recorded unless the opt-out key comes during the announcement (then unrecorded at
 *    once) or within the timeout after it (`optOutAfterConnect`);
 *  - a decision stands: later events change nothing; the evidence names only the configured key;
 *  - the announcement uses early media for an INVITE with an SDP offer, answer-first without one,
 *    when 100rel is required (RFC 3262 §3: the 183 would have to be reliable) or when configured.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConsentGate,
  consentEvidence,
  optOutAfterConnect,
  type ConsentDecision,
  type ConsentEvent,
  type ConsentRules,
  type LegalBasis,
  type RefusalAction,
} from '../../../src/b2bua/consent.js';
import { modeFor } from '../../../src/b2bua/announcement.js';
import type { AnnouncementMode, AnnouncementPlan } from '../../../src/b2bua/announcement-plan.js';
import { parseMessage, type SipRequest } from '../../../src/sip/message/index.js';

function rules(legalBasis: LegalBasis, onRefusal: RefusalAction = { kind: 'connect-unrecorded' }): ConsentRules {
  return { legalBasis, acceptKey: '1', refuseKey: legalBasis === 'opt-out' ? '9' : '2', timeoutMs: 5000, onRefusal };
}

const key = (k: string): ConsentEvent => ({ type: 'key', key: k });
const ENDED: ConsentEvent = { type: 'announcement-ended' };
const FAILED: ConsentEvent = { type: 'announcement-failed' };
const TIMEOUT: ConsentEvent = { type: 'timeout' };

/** Feeds events in order; returns every decision. */
function run(ruleSet: ConsentRules, events: readonly ConsentEvent[]): ConsentDecision[] {
  const gate = new ConsentGate(ruleSet);
  return events.map((event) => gate.next(event));
}

/** The one decision that is not `wait`/`await-key`, in a compact form. */
function verdict(decisions: readonly ConsentDecision[]): string {
  const final = decisions.filter((d) => d.kind !== 'wait' && d.kind !== 'await-key');
  assert.ok(final.length <= 1, `decided more than once: ${JSON.stringify(final)}`);
  const d = final[0];
  if (d === undefined) return 'undecided';
  switch (d.kind) {
    case 'connect':
      return `${d.record ? 'recorded' : 'unrecorded'} ${d.outcome} ${d.key ?? '-'}`;
    case 'reject':
      return `reject ${d.status} ${d.outcome} ${d.key ?? '-'}`;
    case 'route':
      return `route ${d.to} ${d.outcome} ${d.key ?? '-'}`;
  }
  return 'undecided';
}

describe('ConsentGate by legal basis', () => {
  const table: ReadonlyArray<readonly [string, LegalBasis, readonly ConsentEvent[], string]> = [
    ['obligation: recorded after the announcement', 'obligation', [ENDED], 'recorded announced -'],
    ['obligation: keys change nothing', 'obligation', [key('1'), key('2'), key('9'), ENDED], 'recorded announced -'],
    ['obligation: a failed announcement still records', 'obligation', [FAILED], 'recorded not-announced -'],
    ['obligation: nothing before the end', 'obligation', [key('1')], 'undecided'],
    ['consent: accept during the announcement', 'consent', [key('5'), key('1')], 'recorded accepted 1'],
    ['consent: accept after the announcement', 'consent', [ENDED, key('1')], 'recorded accepted 1'],
    ['consent: refuse key', 'consent', [key('2')], 'unrecorded refused 2'],
    ['consent: timeout after the announcement', 'consent', [ENDED, key('7'), TIMEOUT], 'unrecorded timeout -'],
    ['consent: a timeout before the end counts for nothing', 'consent', [TIMEOUT, key('1')], 'recorded accepted 1'],
    ['consent: a failed announcement is no consent', 'consent', [FAILED], 'unrecorded not-announced -'],
    ['consent: other keys alone decide nothing', 'consent', [key('3'), key('#'), ENDED], 'undecided'],
    ['opt-out: recorded after the announcement', 'opt-out', [key('1'), ENDED], 'recorded announced -'],
    ['opt-out: opt-out key during the announcement', 'opt-out', [key('9')], 'unrecorded opted-out 9'],
    ['opt-out: a failed announcement records nothing', 'opt-out', [FAILED], 'unrecorded not-announced -'],
  ];
  for (const [name, basis, events, expected] of table) {
    it(name, () => assert.equal(verdict(run(rules(basis), events)), expected));
  }

  it('asks for the key timer when consent is undecided at the end of the announcement', () => {
    assert.deepEqual(run(rules('consent'), [ENDED])[0], { kind: 'await-key', ms: 5000 });
  });

  it('opens the opt-out window after the announcement', () => {
    const [decision] = run(rules('opt-out'), [ENDED]);
    assert.equal(decision?.kind === 'connect' ? decision.optOutWindowMs : -1, 5000);
  });

  it('keeps the first decision: later events return wait', () => {
    const decisions = run(rules('consent'), [key('1'), key('2'), ENDED, TIMEOUT]);
    assert.deepEqual(
      decisions.map((d) => d.kind),
      ['connect', 'wait', 'wait', 'wait'],
    );
  });
});

describe('onRefusal', () => {
  const refusals: ReadonlyArray<readonly [RefusalAction, string]> = [
    [{ kind: 'connect-unrecorded' }, 'unrecorded timeout -'],
    [{ kind: 'reject', status: 603 }, 'reject 603 timeout -'],
    [{ kind: 'reject', status: 480 }, 'reject 480 timeout -'],
    [{ kind: 'route', to: '+4930123456999' }, 'route +4930123456999 timeout -'],
  ];
  for (const [action, expected] of refusals) {
    it(`turns a timeout into ${action.kind}`, () =>
      assert.equal(verdict(run(rules('consent', action), [ENDED, TIMEOUT])), expected));
  }

  it('applies to the refuse key and a failed announcement alike', () => {
    const reject: RefusalAction = { kind: 'reject', status: 603 };
    assert.equal(verdict(run(rules('consent', reject), [key('2')])), 'reject 603 refused 2');
    assert.equal(verdict(run(rules('opt-out', reject), [FAILED])), 'reject 603 not-announced -');
  });

  it('never applies to an opt-out key (the call goes on)', () => {
    const reject: RefusalAction = { kind: 'reject', status: 603 };
    assert.equal(verdict(run(rules('opt-out', reject), [key('9')])), 'unrecorded opted-out 9');
  });
});

describe('optOutAfterConnect', () => {
  it('accepts the opt-out key within the window only, and only for opt-out', () => {
    assert.equal(optOutAfterConnect(rules('opt-out'), '9', 4999), true);
    assert.equal(optOutAfterConnect(rules('opt-out'), '9', 5001), false);
    assert.equal(optOutAfterConnect(rules('opt-out'), '1', 10), false);
    assert.equal(optOutAfterConnect(rules('consent'), '2', 10), false);
    assert.equal(optOutAfterConnect(rules('obligation'), '9', 10), false);
  });
});

describe('consentEvidence', () => {
  const announcement = {
    file: 'consent-request.wav',
    sha256: 'ab'.repeat(32),
    mode: 'early-media' as const,
    startedAt: '2024-01-01T00:00:00.000Z',
    endedAt: '2024-01-01T00:00:03.000Z',
  };

  it('records the basis, outcome, configured key, time, timeout and announcement', () => {
    const evidence = consentEvidence(
      rules('consent'),
      { outcome: 'accepted', key: '1' },
      new Date('2024-01-01T00:00:02.500Z'),
      announcement,
    );
    assert.deepEqual(evidence, {
      legalBasis: 'consent',
      outcome: 'accepted',
      digit: '1',
      decidedAt: '2024-01-01T00:00:02.500Z',
      timeoutSeconds: 5,
      announcement,
    });
  });

  it('has no timeout for obligation and no digit unless one decided', () => {
    const evidence = consentEvidence(rules('obligation'), { outcome: 'announced', key: null }, new Date(0), null);
    assert.equal('timeoutSeconds' in evidence, false);
    assert.equal(evidence.digit, null);
    assert.equal(evidence.announcement, null);
  });
});

describe('announcement mode (early media or answer-first)', () => {
  const plan = (mode: AnnouncementMode): AnnouncementPlan => ({ file: undefined, mode, consent: rules('obligation') });
  const invite = (headers: readonly string[], sdp: string): SipRequest => {
    const text = [
      'INVITE sip:+4930123456500@callrec.example.com SIP/2.0',
      'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKmode1',
      'Max-Forwards: 70',
      'From: <sip:+4940111222@carrier.example>;tag=f1',
      'To: <sip:+4930123456500@callrec.example.com>',
      'Call-ID: mode-1@198.51.100.7',
      'CSeq: 1 INVITE',
      ...headers,
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ].join('\r\n');
    const parsed = parseMessage(Buffer.from(text));
    assert.ok(parsed.ok && parsed.message.kind === 'request');
    return parsed.message;
  };
  const SDP =
    'v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

  it('uses early media for an INVITE with an SDP offer', () => {
    assert.equal(modeFor(plan('early-media'), invite(['Content-Type: application/sdp'], SDP)), 'early-media');
    assert.equal(
      modeFor(plan('early-media'), invite(['Content-Type: application/sdp', 'Supported: 100rel'], SDP)),
      'early-media',
    );
  });

  it('falls back to answer-first without an offer, when 100rel is required, or when configured', () => {
    assert.equal(modeFor(plan('early-media'), invite([], '')), 'answer-first');
    assert.equal(modeFor(plan('early-media'), invite(['Content-Type: text/plain'], 'hello')), 'answer-first');
    assert.equal(
      modeFor(plan('early-media'), invite(['Content-Type: application/sdp', 'Require: timer, 100rel'], SDP)),
      'answer-first',
    );
    assert.equal(modeFor(plan('answer-first'), invite(['Content-Type: application/sdp'], SDP)), 'answer-first');
  });
});
