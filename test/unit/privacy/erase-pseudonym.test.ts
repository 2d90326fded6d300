/**
 * Pseudonyms for erased numbers (issue 9, GDPR Art. 17): `erased:<12 hex>` from an HMAC keyed by
 * the installation key (stable per installation, unlinkable without the keystore), and
 * `CallStore.pseudonymiseCall` replacing the number in a call's row — caller/callee in any of
 * its stored forms, whole numbers in the decision reason (not digits inside a longer number) and
 * leg URIs — idempotently.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { erasurePseudonym, pseudonymKey } from '../../../src/privacy/index.js';
import { SqliteCallStore } from '../../../src/store/index.js';
import { removeSharedKey, startBed, type PrivacyBed } from './privacy-fixtures.js';

function throwawaySigner(installationId: string): { sign(data: Buffer): Buffer; installationId: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { sign: (data) => sign('sha256', data, privateKey), installationId };
}

describe('erasurePseudonym', () => {
  it('is erased:<12 hex>, the same for the same number and key', () => {
    const key = pseudonymKey(throwawaySigner('inst-1'));
    const pseudonym = erasurePseudonym(key, '+4930111222');
    assert.match(pseudonym, /^erased:[0-9a-f]{12}$/);
    assert.equal(erasurePseudonym(key, '+4930111222'), pseudonym);
    assert.notEqual(erasurePseudonym(key, '+4930111223'), pseudonym);
  });

  it('derives the key from the installation key, stable for one key store and different for another', () => {
    const signer = throwawaySigner('inst-1');
    assert.ok(pseudonymKey(signer).equals(pseudonymKey(signer)));
    const other = throwawaySigner('inst-1'); // same (public) installation id, other private key
    assert.notEqual(
      erasurePseudonym(pseudonymKey(other), '+4930111222'),
      erasurePseudonym(pseudonymKey(signer), '+4930111222'),
    );
  });
});

describe('SqliteCallStore.pseudonymiseCall', () => {
  let bed: PrivacyBed;
  let calls: SqliteCallStore;
  before(async () => {
    bed = await startBed();
    calls = new SqliteCallStore(bed.db);
  });
  after(async () => {
    await bed.close();
    await removeSharedKey();
  });

  it('replaces the number in caller/callee, the decision reason and the leg URIs, once', async () => {
    await calls.recordCallStart({
      id: 'call-1',
      direction: 'outbound',
      callIdA: 'a@pbx',
      caller: '201',
      callee: '+4940999888',
      decisionProfile: 'trading',
      decisionReason:
        'profile "trading": outbound call from extension 201 (+4930123456201), not 2012 or +49301234562010',
      startedAt: '2024-01-01T10:00:00.000Z',
    });
    await calls.recordLeg('call-1', {
      leg: 'a',
      callId: 'a@pbx',
      remoteUri: 'sip:201@10.0.0.5',
      localUri: 'sip:+4940999888@callrec',
    });
    await calls.recordLeg('call-1', {
      leg: 'b',
      callId: 'b@trunk',
      remoteUri: 'sip:+4940999888@trunk',
      localUri: 'sip:+4930123456201@callrec',
    });

    const changed = await calls.pseudonymiseCall('call-1', ['201', '+4930123456201'], 'erased:0123456789ab');
    assert.equal(changed, 4);
    const call = await calls.findCall('call-1');
    assert.equal(call?.caller, 'erased:0123456789ab');
    assert.equal(call?.callee, '+4940999888', 'the other party stays');
    assert.equal(
      call?.decisionReason,
      'profile "trading": outbound call from extension erased:0123456789ab (erased:0123456789ab), not 2012 or +49301234562010',
    );
    const [legA, legB] = call?.legs ?? [];
    assert.equal(legA?.remoteUri, 'erased:0123456789ab');
    assert.equal(legA?.localUri, 'sip:+4940999888@callrec');
    assert.equal(legB?.remoteUri, 'sip:+4940999888@trunk');
    assert.equal(legB?.localUri, 'erased:0123456789ab');

    assert.equal(await calls.pseudonymiseCall('call-1', ['201', '+4930123456201'], 'erased:0123456789ab'), 0);
  });

  it('changes nothing when the number is not in the call, and rejects an unknown call', async () => {
    await calls.recordCallStart({
      id: 'call-2',
      direction: 'inbound',
      callIdA: 'a2@trunk',
      caller: '+4940111',
      callee: '+4930123456500',
      decisionProfile: null,
      decisionReason: 'no profile',
      startedAt: '2024-01-01T11:00:00.000Z',
    });
    assert.equal(await calls.pseudonymiseCall('call-2', ['+4930111222'], 'erased:x'), 0);
    assert.equal((await calls.findCall('call-2'))?.caller, '+4940111');
    await assert.rejects(
      calls.pseudonymiseCall('no-such-call', ['+4930111222'], 'erased:x'),
      (error: unknown) => error instanceof AppError && error.code === 'STORE_CONFLICT',
    );
  });
});
