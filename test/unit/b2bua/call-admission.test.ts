/**
 * The 503 answers to new calls callrec cannot take (SPEC §4, §9; RFC 3261 §21.5.4): over the call
 * limit, over the per-source INVITE rate, and a recorded call whose recording cannot be guaranteed
 * (`onRecordingFailure: reject`) — each with Retry-After, the last with a Warning (§20.43) saying
 * why. Under a flood the WARN lines are limited per source and per profile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallAdmission, LogThrottle } from '../../../src/b2bua/limits.js';
import { createLogger } from '../../../src/observability/index.js';
import {
  createResponse,
  getHeader,
  parseMessage,
  type SipRequest,
  type SipResponse,
} from '../../../src/sip/message/index.js';
import type { IncomingRequest } from '../../../src/sip/ua/index.js';

const INVITE = [
  'INVITE sip:+4930123456500@callrec.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKadm1',
  'Max-Forwards: 70',
  'From: <sip:+4940111222@carrier.example>;tag=f1',
  'To: <sip:+4930123456500@callrec.example.com>',
  'Call-ID: admission-1@198.51.100.7',
  'CSeq: 1 INVITE',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function parsedInvite(): SipRequest {
  const parsed = parseMessage(Buffer.from(INVITE));
  assert.ok(parsed.ok && parsed.message.kind === 'request');
  return parsed.message;
}

/** An INVITE from `address` that keeps the responses it is given. */
function incomingFrom(address: string, responses: SipResponse[]): IncomingRequest {
  const request = parsedInvite();
  const source = { protocol: 'udp' as const, address, port: 5060 };
  return {
    request,
    source,
    responseDestination: source,
    toTag: 't1',
    respond: (status, options = {}) => {
      const response = createResponse(request, status, {
        toTag: 't1',
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      });
      responses.push(response);
      return response;
    },
  };
}

function harness(options: { maxCalls?: number; rate?: number } = {}) {
  let now = 0;
  const lines: Array<Record<string, unknown>> = [];
  const admission = new CallAdmission({
    maxCalls: options.maxCalls ?? 100,
    invitesPerSecondPerSource: options.rate ?? 100,
    retryAfterSeconds: 7,
    now: () => now,
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    }),
  });
  return { admission, lines, advance: (ms: number) => (now += ms) };
}

describe('CallAdmission', () => {
  it('admits a call within the limits and answers nothing', () => {
    const bed = harness();
    const responses: SipResponse[] = [];
    assert.equal(bed.admission.refuseOverLimit(incomingFrom('198.51.100.7', responses), 0), false);
    assert.deepEqual(responses, []);
  });

  it('answers 503 Call Limit Reached with Retry-After at b2bua.maxCalls', () => {
    const bed = harness({ maxCalls: 2 });
    const responses: SipResponse[] = [];
    assert.equal(bed.admission.refuseOverLimit(incomingFrom('198.51.100.7', responses), 2), true);
    assert.equal(responses[0]?.status, 503);
    assert.equal(responses[0]?.reason, 'Call Limit Reached');
    assert.equal(getHeader(responses[0] as SipResponse, 'Retry-After'), '7');
    assert.equal(bed.lines[0]?.['msg'], 'new call refused: limit reached');
    assert.equal(bed.lines[0]?.['limit'], 'max-calls');
  });

  it('refuses a flooding source with 503 Too Many Calls From Source while another source gets through', () => {
    const bed = harness({ rate: 5 });
    const flood: SipResponse[] = [];
    const refused = Array.from({ length: 100 }, () =>
      bed.admission.refuseOverLimit(incomingFrom('198.51.100.7', flood), 0),
    ).filter(Boolean).length;
    assert.equal(refused, 90, 'a burst of twice the rate is admitted');
    assert.ok(flood.every((r) => r.status === 503 && r.reason === 'Too Many Calls From Source'));
    assert.ok(flood.every((r) => getHeader(r, 'Retry-After') === '7'));
    assert.equal(bed.admission.refuseOverLimit(incomingFrom('198.51.100.8', []), 0), false);
    assert.equal(bed.lines.length, 1, 'one log line for the whole flood');
  });

  it('logs the next refusal of a flooding source after the interval with the number left out', () => {
    const bed = harness({ rate: 1 });
    for (let i = 0; i < 30; i++) bed.admission.refuseOverLimit(incomingFrom('198.51.100.7', []), 0);
    bed.advance(10_000);
    for (let i = 0; i < 30; i++) bed.admission.refuseOverLimit(incomingFrom('198.51.100.7', []), 0);
    assert.deepEqual(
      bed.lines.map((line) => line['suppressed']),
      [0, 27],
    );
  });

  it('answers an unrecordable call 503 Recording Unavailable with Retry-After and a Warning naming why', () => {
    const bed = harness();
    const responses: SipResponse[] = [];
    bed.admission.refuseUnrecordable(incomingFrom('198.51.100.7', responses), 'inbound', {
      profileId: 'trading',
      status: 503,
      text: 'recording unavailable: spool "below" reserve',
    });
    const response = responses[0];
    assert.ok(response !== undefined);
    assert.equal(response.status, 503);
    assert.equal(response.reason, 'Recording Unavailable');
    assert.equal(getHeader(response, 'Retry-After'), '7');
    assert.equal(getHeader(response, 'Warning'), `399 callrec "recording unavailable: spool 'below' reserve"`);
    assert.equal(bed.lines[0]?.['level'], 'warn');
    assert.equal(bed.lines[0]?.['msg'], 'new call refused: recording unavailable: spool "below" reserve');
    assert.equal(bed.lines[0]?.['profile'], 'trading');
  });
});

describe('LogThrottle', () => {
  it('allows one line per key and interval and counts the rest', () => {
    let now = 0;
    const throttle = new LogThrottle(100, () => now);
    assert.equal(throttle.allow('a'), 0);
    assert.equal(throttle.allow('a'), undefined);
    assert.equal(throttle.allow('b'), 0, 'keys are independent');
    now = 100;
    assert.equal(throttle.allow('a'), 1);
  });
});
