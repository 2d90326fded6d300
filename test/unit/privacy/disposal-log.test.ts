/**
 * The signed disposal log (SPEC §7): entries chained by SHA-256 and signed with the installation
 * key over their canonical JSON; `verify` re-checks ids, links, hashes and signatures and names
 * the entry that was altered or removed; the table refuses updates, deletes and out-of-chain
 * inserts; two connections appending at once still form one chain.
 */
import assert from 'node:assert/strict';
import { createHash, verify as verifyRaw, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { openKeyStore } from '../../../src/integrity/index.js';
import { canonicalJson, disposalEntryText, DisposalLog } from '../../../src/privacy/index.js';
import { openDatabase, SqliteDisposalStore, type DisposalLocation } from '../../../src/store/index.js';
import { removeSharedKey, startBed, type PrivacyBed } from './privacy-fixtures.js';

const beds: PrivacyBed[] = [];
after(async () => {
  await Promise.all(beds.map((bed) => bed.close()));
  await removeSharedKey();
});

async function bed(): Promise<PrivacyBed> {
  const created = await startBed();
  beds.push(created);
  return created;
}

const LOCATIONS: DisposalLocation[] = [
  { kind: 'spool', path: '/data/recordings/r1', ok: true, deleted: ['r1.json', 'r1.wav'] },
  { kind: 'target', targetId: 'nas', folder: 'Rec/2024', ok: true, deleted: ['r1.json'] },
];

function input(recordingId: string): Parameters<DisposalLog['record']>[0] {
  return {
    recordingId,
    action: 'retention',
    policy: 'profile trading: retentionDays 30',
    actor: 'cli:root',
    locations: LOCATIONS,
  };
}

describe('canonicalJson', () => {
  it('sorts keys at every level, drops undefined members and has no blanks', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { z: null, y: 'x' }], c: undefined }, ä: true }),
      '{"a":{"d":[1,{"y":"x","z":null}]},"b":1,"ä":true}',
    );
    assert.equal(canonicalJson({ b: 2, a: 1 }), canonicalJson({ a: 1, b: 2 }));
    assert.throws(() => canonicalJson(() => 1), TypeError);
  });
});

describe('DisposalLog', () => {
  it('chains entries: ids from 1, each names the previous hash, the hash covers the entry text', async () => {
    const { disposalLog, keyStore } = await bed();
    const first = await disposalLog.record({ ...input('r1'), at: '2024-02-01T01:00:00+01:00' });
    const second = await disposalLog.record(input('r2'));
    assert.deepEqual([first.id, first.previousSha256, first.at], [1, null, '2024-02-01T00:00:00.000Z']);
    assert.deepEqual([second.id, second.previousSha256], [2, first.sha256]);
    for (const entry of [first, second]) {
      const text = Buffer.from(disposalEntryText(entry), 'utf8');
      assert.equal(entry.sha256, createHash('sha256').update(text).digest('hex'));
      const publicKey = new X509Certificate(keyStore.certificatePem).publicKey;
      assert.ok(verifyRaw('sha256', text, publicKey, Buffer.from(entry.signature, 'base64')), 'RSA-SHA256 signature');
    }
    assert.deepEqual(await disposalLog.list(), [first, second]);
    assert.deepEqual(
      (await disposalLog.list({ recordingId: 'r2' })).map((e) => e.id),
      [2],
    );
    assert.deepEqual(
      (await disposalLog.list({ since: '2024-03-01T00:00:00Z' })).map((e) => e.id),
      [2],
    );
  });

  it('verifies an intact log and an empty one with the certificate', async () => {
    const { disposalLog, keyStore } = await bed();
    assert.deepEqual(await disposalLog.verify(keyStore.certificatePem), { ok: true, entries: 0, findings: [] });
    for (const id of ['r1', 'r2', 'r3']) await disposalLog.record(input(id));
    assert.deepEqual(await disposalLog.verify(keyStore.certificatePem), { ok: true, entries: 3, findings: [] });
  });

  it('finds an altered entry (hash and signature) when the append-only triggers were bypassed', async () => {
    const { disposalLog, keyStore, db } = await bed();
    for (const id of ['r1', 'r2']) await disposalLog.record(input(id));
    await db.exec('DROP TRIGGER disposal_log_no_update');
    await db.run("UPDATE disposal_log SET policy = 'profile trading: retentionDays 1' WHERE id = 1");
    const verdict = await disposalLog.verify(keyStore.certificatePem);
    assert.equal(verdict.ok, false);
    assert.deepEqual(
      verdict.findings.map((f) => [f.id, f.problem]),
      [
        [1, 'content does not match its sha256 (altered)'],
        [1, 'signature does not verify with the certificate'],
      ],
    );
  });

  it('finds a removed entry by the gap and the broken link', async () => {
    const { disposalLog, keyStore, db } = await bed();
    for (const id of ['r1', 'r2', 'r3']) await disposalLog.record(input(id));
    await db.exec('DROP TRIGGER disposal_log_no_delete');
    await db.run('DELETE FROM disposal_log WHERE id = 2');
    const verdict = await disposalLog.verify(keyStore.certificatePem);
    assert.deepEqual(
      verdict.findings.map((f) => [f.id, f.problem]),
      [
        [3, 'expected entry 2 here'],
        [3, 'previous hash does not match the entry before it'],
      ],
    );
  });

  it('fails verification with the certificate of another key', async () => {
    const { disposalLog, dir } = await bed();
    await disposalLog.record(input('r1'));
    const otherKey = await openKeyStore({ dataDir: join(dir, 'other-key'), password: 'other' });
    const verdict = await disposalLog.verify(otherKey.certificatePem);
    assert.deepEqual(
      verdict.findings.map((f) => [f.id, f.problem]),
      [[1, 'signature does not verify with the certificate']],
    );
  });

  it('refuses updates, deletes and inserts that are not the next link', async () => {
    const { disposalLog, db } = await bed();
    const first = await disposalLog.record(input('r1'));
    await assert.rejects(db.run("UPDATE disposal_log SET actor = 'x'"), /append-only/);
    await assert.rejects(db.run('DELETE FROM disposal_log'), /append-only/);
    const insert = (id: number, previous: string | null): Promise<unknown> =>
      db.run(
        `INSERT INTO disposal_log (id, at, recording_id, action, policy, actor, locations, previous_sha256, sha256, signature)
         VALUES (?, '2024-01-01T00:00:00.000Z', 'x', 'retention', 'p', 'a', '[]', ?, ?, 'c2ln')`,
        [id, previous, 'f'.repeat(64)],
      );
    await assert.rejects(insert(3, first.sha256), /not the next link/);
    await assert.rejects(insert(2, 'e'.repeat(64)), /not the next link/);
    await assert.rejects(insert(2, null), /not the next link/);
  });

  it('rejects an entry without policy or actor, and recording without a signer', async () => {
    const { disposalLog, db } = await bed();
    await assert.rejects(disposalLog.record({ ...input('r1'), policy: ' ' }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'PRIVACY_DISPOSAL');
      return true;
    });
    const readOnly = new DisposalLog({ store: new SqliteDisposalStore(db) });
    await assert.rejects(readOnly.record(input('r1')), /needs a signer/);
    assert.deepEqual(await readOnly.list(), []);
  });

  it('forms one chain when two connections append at once', async () => {
    const shared = await bed();
    const second = await openDatabase(join(shared.dir, 'callrec.db'));
    try {
      const other = new DisposalLog({ store: new SqliteDisposalStore(second), signer: shared.keyStore });
      await Promise.all(
        Array.from({ length: 6 }, (_, n) => (n % 2 === 0 ? shared.disposalLog : other).record(input(`r${n}`))),
      );
      const verdict = await shared.disposalLog.verify(shared.keyStore.certificatePem);
      assert.deepEqual(verdict, { ok: true, entries: 6, findings: [] });
    } finally {
      await second.close();
    }
  });
});
