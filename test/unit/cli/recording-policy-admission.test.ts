/**
 * The recording policy as the B2BUA asks it (SPEC §4 fail policy): a call that a profile records
 * while the recorder reports problems (spool below its reserve) is refused with 503 and a reason
 * under `onRecordingFailure: reject` (the B2BUA answers before the callee is called), and recorded
 * under `continue`; calls no profile records are never refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CallFacts } from '../../../src/b2bua/index.js';
import { createRecordingPolicy } from '../../../src/cli/recording-policy.js';
import { loadConfig, type CallrecConfig } from '../../../src/config/index.js';
import { Membership, type RecorderHealth } from '../../../src/policy/index.js';
import type { MembershipStore } from '../../../src/store/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

const NO_SWITCHES: MembershipStore = {
  setActive: () => Promise.reject(new Error('not in this test')),
  isActive: () => Promise.resolve(undefined),
  list: () => Promise.resolve([]),
  dataVersion: () => Promise.resolve(1),
};

/** Inbound to the trading desk (profile `trading`) and to the sales desk (profile `sales`). */
const TO_TRADING: CallFacts = {
  direction: 'inbound',
  calledNumbers: ['+4930123456500'],
  callingNumbers: ['+4940111222'],
};
const TO_SALES: CallFacts = {
  direction: 'inbound',
  calledNumbers: ['+4930123456600'],
  callingNumbers: ['+4940111222'],
};
const UNRECORDED: CallFacts = {
  direction: 'inbound',
  calledNumbers: ['+4930123456999'],
  callingNumbers: ['+4940111222'],
};

let dir: string;
let config: CallrecConfig;
let membership: Membership;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-policy-admission-'));
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  delete example['$schema'];
  const profile = (example['profiles'] as Json[])[0] as Json;
  example['groups'] = [
    { id: 'trading', numbers: ['+4930123456500'], members: ['alice'] },
    { id: 'sales', numbers: ['+4930123456600'], members: ['bob'] },
  ];
  example['profiles'] = [
    { ...profile, id: 'trading', groups: ['trading'], announcement: {}, onRecordingFailure: 'reject' },
    { ...profile, id: 'sales', groups: ['sales'], announcement: {}, onRecordingFailure: 'continue' },
  ];
  const path = join(dir, 'callrec.json');
  await writeFile(path, JSON.stringify(example));
  const loaded = await loadConfig(path);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  config = loaded.config;
  membership = await Membership.load(NO_SWITCHES, config);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SPOOL_FULL: RecorderHealth = { problems: ['spool below reserve'] };

describe('createRecordingPolicy with the recorder health', () => {
  it('records as before while the recorder has no problems', () => {
    const policy = createRecordingPolicy(config, membership, () => ({ problems: [] }));
    const decision = policy.decide(TO_TRADING);
    assert.equal(decision.record, true);
    assert.ok(decision.record && decision.profileId === 'trading');
  });

  it('refuses a reject profile\'s call with 503 and "recording unavailable: …" while the spool is below its reserve', () => {
    const policy = createRecordingPolicy(config, membership, () => SPOOL_FULL);
    const decision = policy.decide(TO_TRADING);
    assert.equal(decision.record, false);
    assert.ok(!decision.record);
    assert.deepEqual(decision.refuse, {
      profileId: 'trading',
      status: 503,
      text: 'recording unavailable: spool below reserve',
    });
    assert.match(decision.reason, /^profile "trading": .*; refused: recording unavailable: spool below reserve$/);
  });

  it("records a continue profile's call while the spool is below its reserve", () => {
    const policy = createRecordingPolicy(config, membership, () => SPOOL_FULL);
    const decision = policy.decide(TO_SALES);
    assert.ok(decision.record && decision.profileId === 'sales');
  });

  it('never refuses a call that no profile records', () => {
    const policy = createRecordingPolicy(config, membership, () => SPOOL_FULL);
    const decision = policy.decide(UNRECORDED);
    assert.equal(decision.record, false);
    assert.ok(!decision.record && decision.refuse === undefined);
  });

  it('asks the health at every decision, so a recovered spool takes calls again', () => {
    let health: RecorderHealth = SPOOL_FULL;
    const policy = createRecordingPolicy(config, membership, () => health);
    assert.equal(policy.decide(TO_TRADING).record, false);
    health = { problems: [] };
    assert.equal(policy.decide(TO_TRADING).record, true);
  });

  it('defaults to a healthy recorder (callers that pass no health)', () => {
    assert.equal(createRecordingPolicy(config, membership).decide(TO_TRADING).record, true);
  });
});
