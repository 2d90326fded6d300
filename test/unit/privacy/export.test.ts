/**
 * `exportRecordings` (issue 9, SPEC §7): an evidence package of really sealed recordings —
 *  - each recording's files exactly as sealed under `<out>/<id>/` (0600 files, 0700 folders),
 *    with `certificate.pem`, an executable `verify.sh`, `summary.csv` and `README.txt`, and
 *    `bin/verify.sh` in the package passes;
 *  - a recording whose spool copy is gone is downloaded from a target; a tampered spool copy is
 *    passed over for an intact target copy (and noted);
 *  - a recording that fails verification (altered everywhere, or no copy at all) is still
 *    exported, flagged `verified: no` with the reason, and counted as failed;
 *  - an `--out` that is not empty is refused before anything is read or written;
 *  - every export is in the audit log (`export`, subject `number:<n>`, count, folder).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AppError } from '../../../src/errors.js';
import { exportRecordings, type ExportOptions, type ExportProgress } from '../../../src/privacy/index.js';
import { repoRoot } from '../../support/paths.js';
import { folderTarget, sealedNames, sealedRecording, TARGET_FOLDER } from './export-fixtures.js';
import { removeSharedKey, startBed, type PrivacyBed } from './privacy-fixtures.js';

const run = promisify(execFile);
const VERIFY_SH = join(repoRoot, 'bin', 'verify.sh');
const NUMBER = '+4930111222';

describe('exportRecordings', () => {
  let bed: PrivacyBed;
  let nas: Awaited<ReturnType<typeof folderTarget>>;
  let verifyScript: Buffer;
  let packages = 0;

  before(async () => {
    bed = await startBed();
    nas = await folderTarget('nas');
    verifyScript = await readFile(VERIFY_SH);
  });
  after(async () => {
    await nas.remove();
    await bed.close();
    await removeSharedKey();
  });

  const options = async (ids: readonly string[], overrides: Partial<ExportOptions> = {}): Promise<ExportOptions> => {
    const recordings = [];
    for (const id of ids) {
      const found = await bed.catalogue.find(id);
      assert.ok(found !== undefined, id);
      recordings.push(found);
    }
    return {
      recordings,
      outDir: join(bed.dir, `package-${++packages}`),
      certificatePem: bed.keyStore.exportCertificatePem(),
      certificateFingerprint: bed.keyStore.describe().sha256Fingerprint,
      installationId: bed.keyStore.installationId,
      verifyScript,
      targets: [nas.target],
      uploads: bed.uploads,
      number: NUMBER,
      audit: bed.audit,
      actor: 'cli:tester',
      ...overrides,
    };
  };

  it('writes every file as sealed with the certificate, verify.sh, summary and README; verify.sh passes', async () => {
    await sealedRecording(bed, 'rec-spool');
    await sealedRecording(bed, 'rec-remote', { targets: [nas.target], removeSpool: true });
    const progress: ExportProgress[] = [];
    const opts = await options(['rec-spool', 'rec-remote'], { onProgress: (p) => progress.push(p) });
    const summary = await exportRecordings(opts);
    const out = summary.outDir;

    assert.equal(summary.failed, 0);
    assert.deepEqual(
      summary.rows.map((row) => [row.id, row.verified, row.source]),
      [
        ['rec-spool', true, 'spool'],
        ['rec-remote', true, 'target nas'],
      ],
    );
    assert.deepEqual(
      progress.map((p) => `${p.done}/${p.total}`),
      ['1/2', '2/2'],
    );
    assert.deepEqual((await readdir(out)).sort(), [
      'README.txt',
      'certificate.pem',
      'rec-remote',
      'rec-spool',
      'summary.csv',
      'verify.sh',
    ]);
    for (const id of ['rec-spool', 'rec-remote']) {
      assert.deepEqual((await readdir(join(out, id))).sort(), sealedNames(id).sort());
      assert.equal((await stat(join(out, id))).mode & 0o777, 0o700);
      for (const name of sealedNames(id)) {
        assert.equal((await stat(join(out, id, name))).mode & 0o777, 0o600, name);
      }
    }
    const spoolWav = await readFile(join(bed.spoolRoot, 'rec-spool', 'rec-spool-caller.wav'));
    assert.ok((await readFile(join(out, 'rec-spool', 'rec-spool-caller.wav'))).equals(spoolWav), 'bytes as sealed');
    assert.equal((await stat(out)).mode & 0o777, 0o700);
    assert.equal((await stat(join(out, 'verify.sh'))).mode & 0o777, 0o700);
    for (const name of ['certificate.pem', 'summary.csv', 'README.txt']) {
      assert.equal((await stat(join(out, name))).mode & 0o777, 0o600, name);
    }
    assert.equal(await readFile(join(out, 'certificate.pem'), 'utf8'), bed.keyStore.exportCertificatePem());
    const csv = await readFile(join(out, 'summary.csv'), 'utf8');
    assert.match(csv, /^rec-spool,2024-01-01T10:00:00\.000Z,2024-01-01T10:01:00\.000Z,inbound,\+4930111222,/m);
    assert.match(csv, /,yes,target nas,\r\n/);

    for (const id of ['rec-spool', 'rec-remote']) {
      const { stdout } = await run('./verify.sh', [id, 'certificate.pem'], { cwd: out });
      assert.match(stdout, new RegExp(`^OK ${id}$`, 'm'));
    }

    const entry = (await bed.audit.list()).at(-1);
    assert.equal(entry?.action, 'export');
    assert.equal(entry?.subject, `number:${NUMBER}`);
    assert.equal(entry?.actor, 'cli:tester');
    assert.equal(entry?.details['count'], 2);
    assert.equal(entry?.details['out'], out);
    assert.deepEqual(entry?.details['recordings'], ['rec-spool', 'rec-remote']);
  });

  it('passes over a tampered spool copy for an intact one on a target, and says so', async () => {
    const dir = await sealedRecording(bed, 'rec-tampered-spool', { targets: [nas.target] });
    await appendFile(join(dir, 'rec-tampered-spool-callee.wav'), Buffer.from([1, 2, 3]));
    const summary = await exportRecordings(await options(['rec-tampered-spool']));
    const [row] = summary.rows;
    assert.equal(row?.verified, true);
    assert.equal(row?.source, 'target nas');
    assert.match(row?.problems.join() ?? '', /spool: rec-tampered-spool-callee\.wav does not match its checksum/);
    assert.equal(summary.failed, 0);
  });

  it('exports a recording that fails verification, flagged with the reason', async () => {
    const dir = await sealedRecording(bed, 'rec-altered');
    await writeFile(join(dir, 'rec-altered-caller.wav'), 'not the recorded audio');
    const summary = await exportRecordings(await options(['rec-altered']));
    const [row] = summary.rows;
    assert.equal(summary.failed, 1);
    assert.equal(row?.verified, false);
    assert.equal(row?.source, 'spool');
    assert.match(row?.problems.join('; ') ?? '', /rec-altered-caller\.wav/);
    assert.deepEqual((await readdir(join(summary.outDir, 'rec-altered'))).sort(), sealedNames('rec-altered').sort());
    assert.match(await readFile(join(summary.outDir, 'summary.csv'), 'utf8'), /\r\nrec-altered,.*,no,spool,/);
    assert.match(await readFile(join(summary.outDir, 'README.txt'), 'utf8'), /WARNING: 1 recording\(s\) FAILED/);
    await assert.rejects(run('./verify.sh', ['rec-altered', 'certificate.pem'], { cwd: summary.outDir }));
    assert.equal((await bed.audit.list()).at(-1)?.details['failedVerification'], 1);
  });

  it('flags a download that does not match the checksum file', async () => {
    await sealedRecording(bed, 'rec-bad-copy', { targets: [nas.target], removeSpool: true });
    await writeFile(join(nas.root, TARGET_FOLDER, 'rec-bad-copy.json'), '{"altered":true}\n');
    const summary = await exportRecordings(await options(['rec-bad-copy']));
    const [row] = summary.rows;
    assert.equal(row?.verified, false);
    assert.match(row?.problems.join('; ') ?? '', /target nas: rec-bad-copy\.json does not match its checksum/);
  });

  it('lists a recording with no copy anywhere as not verified, with an empty folder', async () => {
    await sealedRecording(bed, 'rec-lost', { removeSpool: true });
    const summary = await exportRecordings(await options(['rec-lost']));
    const [row] = summary.rows;
    assert.equal(row?.verified, false);
    assert.equal(row?.source, null);
    assert.equal(row?.checksumSha256, null);
    assert.match(row?.problems.join('; ') ?? '', /rec-lost\.sha256 is missing/);
    assert.deepEqual(await readdir(join(summary.outDir, 'rec-lost')), []);
  });

  it('refuses an output folder that is not empty before reading anything', async () => {
    await sealedRecording(bed, 'rec-refused');
    const opts = await options(['rec-refused']);
    await mkdir(opts.outDir);
    await writeFile(join(opts.outDir, 'unrelated.txt'), 'keep');
    const audited = (await bed.audit.list()).length;
    await assert.rejects(
      exportRecordings(opts),
      (error: unknown) => error instanceof AppError && /not empty/.test(error.message),
    );
    assert.deepEqual(await readdir(opts.outDir), ['unrelated.txt']);
    assert.equal((await bed.audit.list()).length, audited, 'nothing exported, nothing audited');
  });

  it('leaves no staging folders behind', async () => {
    const summary = await exportRecordings(await options(['rec-spool', 'rec-tampered-spool']));
    assert.deepEqual(
      (await readdir(summary.outDir)).filter((name) => name.includes('.partial')),
      [],
    );
    await rm(summary.outDir, { recursive: true });
  });
});
