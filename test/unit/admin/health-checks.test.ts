/**
 * The `/healthz` checks: SIP listeners bound, database answering, keystore loaded with a valid
 * certificate, spool free space against the reserve (statfs, falling back to the data dir before
 * the spool exists), and the age of the oldest upload not yet done per target.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  databaseCheck,
  keystoreCheck,
  sipListenersCheck,
  spoolCheck,
  uploadBacklogCheck,
} from '../../../src/admin/index.js';

const NOW = new Date('2026-06-01T12:00:00Z');

describe('health checks', () => {
  it('sip: holds with bound listeners and lists them; fails without', async () => {
    const check = sipListenersCheck(() => [{ protocol: 'udp', address: '127.0.0.1', port: 5060 }]);
    assert.deepEqual(await check(), { ok: true, listeners: [{ transport: 'udp', host: '127.0.0.1', port: 5060 }] });
    assert.equal((await sipListenersCheck(() => [])()).ok, false);
  });

  it('database: holds when the probe resolves; its rejection propagates (the server turns it into a failure)', async () => {
    const result = await databaseCheck(async () => 6)();
    assert.equal(result.ok, true);
    assert.equal(typeof result['latencyMs'], 'number');
    await assert.rejects(
      Promise.resolve(databaseCheck(() => Promise.reject(new Error('SQLITE_CORRUPT')))()),
      /CORRUPT/,
    );
  });

  it('keystore: holds before the end of validity, fails after it, when not loaded or unreadable', async () => {
    const now = (): Date => NOW;
    const valid = await keystoreCheck(() => ({ loaded: true, notAfter: '2036-06-01T00:00:00.000Z' }), now)();
    assert.equal(valid.ok, true);
    assert.equal(valid['daysLeft'], 3652);
    const expired = await keystoreCheck(() => ({ loaded: true, notAfter: '2026-05-31T00:00:00.000Z' }), now)();
    assert.equal(expired.ok, false);
    assert.match(expired.detail ?? '', /expired at 2026-05-31/);
    assert.equal((await keystoreCheck(() => ({ loaded: false, notAfter: '2036-01-01T00:00:00Z' }), now)()).ok, false);
    assert.equal((await keystoreCheck(() => ({ loaded: true, notAfter: 'soon' }), now)()).ok, false);
  });

  describe('spool', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'callrec-health-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('reports free and total bytes of the data dir while the spool does not exist yet', async () => {
      const result = await spoolCheck({ dir: join(dir, 'recordings'), fallback: dir, minFreeBytes: 0 })();
      assert.equal(result.ok, true);
      assert.ok(typeof result['freeBytes'] === 'number' && result['freeBytes'] > 0);
      assert.ok(typeof result['totalBytes'] === 'number' && result['totalBytes'] >= result['freeBytes']);
    });

    it('fails below the reserve, saying how much is free', async () => {
      const result = await spoolCheck({ dir, fallback: dir, minFreeBytes: Number.MAX_SAFE_INTEGER })();
      assert.equal(result.ok, false);
      assert.match(result.detail ?? '', /bytes free on the spool \(minimum \d+\)/);
    });

    it('rejects when neither the spool nor the data dir exists', async () => {
      const missing = join(dir, 'missing');
      await assert.rejects(
        Promise.resolve(spoolCheck({ dir: join(missing, 'recordings'), fallback: missing, minFreeBytes: 0 })()),
        /ENOENT/,
      );
    });
  });

  describe('uploads', () => {
    const target = (targetId: string, oldestPendingSince: string | null, failed = 0) => ({
      targetId,
      pending: oldestPendingSince === null ? 0 : 2,
      uploading: 0,
      failed,
      oldestPendingSince,
    });

    it('holds while every waiting upload is younger than the limit and sums the backlog', async () => {
      const check = uploadBacklogCheck(async () => [target('smb', '2026-06-01T11:30:00Z', 1), target('sftp', null)], {
        maxAgeSeconds: 3600,
        now: () => NOW,
      });
      const result = await check();
      assert.equal(result.ok, true);
      assert.equal(result['backlog'], 3);
      assert.deepEqual(result['targets'], [
        { target: 'smb', pending: 2, uploading: 0, failed: 1, oldestPendingSeconds: 1800 },
        { target: 'sftp', pending: 0, uploading: 0, failed: 0, oldestPendingSeconds: 0 },
      ]);
    });

    it('fails naming the targets with an upload older than the limit', async () => {
      const result = await uploadBacklogCheck(
        async () => [target('smb', '2026-06-01T10:00:00Z'), target('sftp', null)],
        {
          maxAgeSeconds: 3600,
          now: () => NOW,
        },
      )();
      assert.equal(result.ok, false);
      assert.match(result.detail ?? '', /longer than 3600 s on smb$/);
    });
  });
});
