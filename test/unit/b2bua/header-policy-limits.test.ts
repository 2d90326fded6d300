/**
 * B2BUA pure parts: which headers cross legs (topology hiding, identity carried) and the
 * admission limits (total calls, per-source token bucket -> 503).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderPolicy } from '../../../src/b2bua/header-policy.js';
import { CallLimits } from '../../../src/b2bua/limits.js';

const FIELDS = [
  { name: 'Via', value: 'SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1' },
  { name: 'Record-Route', value: '<sip:10.0.0.9;lr>' },
  { name: 'Contact', value: '<sip:201@10.0.0.5>' },
  { name: 'Call-ID', value: 'abc@10.0.0.5' },
  { name: 'CSeq', value: '1 INVITE' },
  { name: 'From', value: '<sip:201@pbx>;tag=1' },
  { name: 'P-Asserted-Identity', value: '<sip:+4930123456201@example.com>' },
  { name: 'Privacy', value: 'id' },
  { name: 'Diversion', value: '<sip:+4930123456500@example.com>;reason=unconditional' },
  { name: 'History-Info', value: '<sip:500@pbx>;index=1' },
  { name: 'Session-Expires', value: '1800;refresher=uac' },
  { name: 'Proxy-Authorization', value: 'Digest username="pbx"' },
  { name: 'X-Customer-Id', value: '42' },
  { name: 'Content-Type', value: 'application/sdp' },
];

describe('HeaderPolicy', () => {
  it('never carries hop headers (topology hiding) but carries identity and session headers', () => {
    const carried = new HeaderPolicy().carry(FIELDS).map(([name]) => name);
    for (const hop of ['Via', 'Record-Route', 'Contact', 'Call-ID', 'CSeq', 'From'])
      assert.ok(!carried.includes(hop), hop);
    for (const kept of [
      'P-Asserted-Identity',
      'Privacy',
      'Diversion',
      'History-Info',
      'Session-Expires',
      'Proxy-Authorization',
      'Content-Type',
    ]) {
      assert.ok(carried.includes(kept), kept);
    }
    assert.ok(!carried.includes('X-Customer-Id'), 'unknown headers stay unless allowed');
  });

  it('carries configured extra headers, case-insensitively, and can exclude some', () => {
    const policy = new HeaderPolicy(['x-customer-id']);
    assert.ok(policy.carry(FIELDS).some(([name]) => name === 'X-Customer-Id'));
    assert.ok(!policy.carryExcept(FIELDS, ['privacy']).some(([name]) => name === 'Privacy'));
  });
});

describe('CallLimits', () => {
  it('refuses beyond the total call limit', () => {
    const limits = new CallLimits({ maxCalls: 2, invitesPerSecondPerSource: 100, now: () => 0 });
    assert.equal(limits.admit('10.0.0.5', 1), undefined);
    assert.equal(limits.admit('10.0.0.5', 2), 'max-calls');
  });

  it('allows a burst of twice the rate per source, then refills at the rate', () => {
    let now = 0;
    const limits = new CallLimits({ maxCalls: 1000, invitesPerSecondPerSource: 5, now: () => now });
    const admitted = Array.from({ length: 12 }, () => limits.admit('198.51.100.7', 0)).filter(
      (r) => r === undefined,
    ).length;
    assert.equal(admitted, 10);
    assert.equal(limits.admit('198.51.100.8', 0), undefined, 'another source has its own bucket');
    now += 1000;
    const refilled = Array.from({ length: 10 }, () => limits.admit('198.51.100.7', 0)).filter(
      (r) => r === undefined,
    ).length;
    assert.equal(refilled, 5);
  });
});
