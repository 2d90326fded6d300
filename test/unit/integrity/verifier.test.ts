/**
 * `verifyFolder` / `callrec verify` (SPEC §5, §11): per recording what holds and what does not;
 * the chain between neighbours (broken links, forks, gaps, signed checkpoints); exit 0 when all
 * holds, 1 on any failure, 2 for usage and I/O errors. The tamper matrix against the real tools
 * is in test/integration/integrity-tools.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runVerifyCommand } from '../../../src/cli/commands/verify.js';
import {
  Ledger,
  sealRecording,
  verifyFolder,
  type FolderVerdict,
  type RecordingSigner,
} from '../../../src/integrity/index.js';
import {
  openDatabase,
  SqliteLedgerStore,
  type LedgerEntry,
  type LedgerStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';

/** A throwaway installation key: node:crypto RSA key + `openssl req -x509` self-signed certificate. */
function makeSigner(installationId = 'test-installation'): RecordingSigner {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyDir = mkdtempSync(join(tmpdir(), 'callrec-key-'));
  try {
    const keyPath = join(keyDir, 'key.pem');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const subject = `/CN=callrec ${installationId}`;
    const certificatePem = execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', keyPath, '-subj', subject, '-days', '2', '-sha256'],
      { encoding: 'utf8' },
    );
    return { sign: (data) => sign('sha256', data, privateKey), certificatePem, chainPem: [], installationId };
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}

let root: string;
let signer: RecordingSigner;
let counter = 0;
const databases: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-verifier-'));
  signer = makeSigner();
});

after(async () => {
  await Promise.all(databases.map((db) => db.close()));
  await rm(root, { recursive: true, force: true });
});

async function newLedger(): Promise<Ledger> {
  const dataDir = join(root, `data-${++counter}`);
  const db = await openDatabase(join(dataDir, 'callrec.db'));
  databases.push(db);
  return new Ledger({ store: new SqliteLedgerStore(db), checkpointDir: join(dataDir, 'ledger') });
}

async function folder(): Promise<string> {
  const dir = join(root, `folder-${++counter}`);
  await mkdir(dir);
  return dir;
}

/** Seals recording `id` (one `<id>.wav` of noise) into `dir`. */
async function seal(dir: string, id: string, ledger?: Ledger, key = signer): Promise<void> {
  await writeFile(join(dir, `${id}.wav`), createHash('sha512').update(id).digest());
  await sealRecording({
    dir,
    id,
    audioFiles: [`${id}.wav`],
    metadata: { id },
    signer: key,
    ...(ledger ? { ledger } : {}),
  });
}

function lines(verdict: FolderVerdict): string[] {
  return [
    ...verdict.recordings.map((r) => (r.ok ? `OK ${r.id}` : `FAIL ${r.id}: ${r.problems.join('; ')}`)),
    ...verdict.findings.map((f) => `${f.level.toUpperCase()} ${f.subject}: ${f.message}`),
  ];
}

async function command(dir: string, options: { cert?: string; allowGaps?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerifyCommand(dir, options, { log: (line) => out.push(line), error: (line) => err.push(line) });
  return { code, out, err };
}

describe('verifyFolder', () => {
  it('accepts sealed, chained recordings and says what holds', async () => {
    const dir = await folder();
    const ledger = await newLedger();
    for (const id of ['a1', 'a2', 'a3']) await seal(dir, id, ledger);
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.equal(verdict.ok, true, lines(verdict).join('\n'));
    assert.deepEqual(verdict.recordings[0]?.holds, ['2 files match', 'signature valid']);
    assert.deepEqual(lines(verdict).at(-1), 'OK chain test-installation: sequences 1..3 linked');
  });

  it('uses cert.pem from the folder when no certificate is given, and fails without any', async () => {
    const dir = await folder();
    await seal(dir, 'c1');
    const without = await verifyFolder(dir);
    assert.equal(without.ok, false);
    assert.match(without.recordings[0]?.problems.join() ?? '', /signature not checked: no certificate/);
    await writeFile(join(dir, 'cert.pem'), signer.certificatePem);
    const withFolderCert = await verifyFolder(dir);
    assert.equal(withFolderCert.ok, true, lines(withFolderCert).join('\n'));
    assert.match(withFolderCert.certificate?.subject ?? '', /CN=callrec test-installation/);
  });

  it('keeps recordings whose ids prefix each other apart (r1 vs r10)', async () => {
    const dir = await folder();
    await seal(dir, 'r1');
    await seal(dir, 'r10');
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.equal(verdict.ok, true, lines(verdict).join('\n'));
    await writeFile(join(dir, 'r10-extra.wav'), 'x');
    assert.deepEqual(lines(await verifyFolder(dir, { certificatePem: signer.certificatePem })).slice(0, 2), [
      'OK r1',
      'FAIL r10: extra file r10-extra.wav is not in r10.sha256',
    ]);
  });

  it('fails audio that no checksum file covers, and a folder without recordings', async () => {
    const dir = await folder();
    await seal(dir, 'sealed');
    await writeFile(join(dir, 'loose-caller.wav'), 'x');
    await writeFile(join(dir, 'loose-callee.wav'), 'y');
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.deepEqual(lines(verdict), [
      'FAIL loose: loose-callee.wav, loose-caller.wav not covered by any checksum file (no loose.sha256)',
      'OK sealed',
    ]);
    const empty = await verifyFolder(await folder(), { certificatePem: signer.certificatePem });
    assert.equal(empty.ok, false);
    assert.match(lines(empty).join(), /no recordings/);
  });

  it('reports a link that does not name the previous checksum file (a replaced neighbour)', async () => {
    const dir = await folder();
    const ledger = await newLedger();
    await seal(dir, 'l1', ledger);
    // A ledger whose head claims another checksum for sequence 1: l2 then links to it.
    const head: LedgerEntry = {
      sequence: 1,
      recordingId: 'elsewhere',
      checksumSha256: 'f'.repeat(64),
      previousChecksumSha256: null,
      sealedAt: '',
    };
    const lying: LedgerStore = {
      ledgerHead: async () => head,
      ledgerEntryForRecording: async () => undefined,
      appendLedgerEntry: async () => undefined,
      ledgerEntries: async () => [head],
      appendCheckpoint: async () => undefined,
      latestCheckpoint: async () => undefined,
    };
    await seal(dir, 'l2', new Ledger({ store: lying, checkpointDir: dir }));
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.deepEqual(lines(verdict), [
      'OK l1',
      'FAIL l2: chain: previousChecksumSha256 is not the SHA-256 of l1.sha256 (sequence 1)',
    ]);
  });

  it('reports a fork: two recordings of one installation with the same sequence', async () => {
    const dir = await folder();
    await seal(dir, 'f1', await newLedger());
    await seal(dir, 'f2', await newLedger());
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.equal(verdict.ok, false);
    assert.match(
      lines(verdict).join('\n'),
      /FAIL chain test-installation: sequence 1 is claimed by f1 and f2 \(the chain forked\)/,
    );
  });

  it('reports a gap as missing recordings; with allowChainGaps only as a note', async () => {
    const dir = await folder();
    const ledger = await newLedger();
    for (const id of ['g1', 'g2', 'g3', 'g4']) await seal(dir, id, ledger);
    for (const name of [
      'g2.json',
      'g2.wav',
      'g2.sha256',
      'g2.sha256.SHA256withRSA.sig',
      'g3.json',
      'g3.wav',
      'g3.sha256',
      'g3.sha256.SHA256withRSA.sig',
    ]) {
      await rm(join(dir, name));
    }
    const verdict = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.equal(verdict.ok, false);
    assert.deepEqual(lines(verdict), [
      'OK g1',
      'OK g4',
      'FAIL chain test-installation: recordings 2..3 missing from this folder (between g1 and g4)',
    ]);
    const lenient = await verifyFolder(dir, { certificatePem: signer.certificatePem, allowChainGaps: true });
    assert.equal(lenient.ok, true);
    assert.match(lines(lenient).join('\n'), /NOTE chain test-installation: recordings 2\.\.3 missing/);
  });

  it('proves a deleted latest recording with a signed checkpoint in the folder', async () => {
    const dir = await folder();
    const ledger = await newLedger();
    for (const id of ['t1', 't2']) await seal(dir, id, ledger);
    const checkpoint = await ledger.checkpoint(signer);
    await copyFile(checkpoint.path, join(dir, checkpoint.fileName));
    await copyFile(checkpoint.signaturePath, join(dir, `${checkpoint.fileName}.SHA256withRSA.sig`));
    const intact = await verifyFolder(dir, { certificatePem: signer.certificatePem, allowChainGaps: true });
    assert.equal(intact.ok, true, lines(intact).join('\n'));
    assert.match(
      lines(intact).join('\n'),
      /OK chain test-installation: sequences 1\.\.2 linked, up to the signed checkpoint 2/,
    );

    for (const name of ['t2.json', 't2.wav', 't2.sha256', 't2.sha256.SHA256withRSA.sig']) await rm(join(dir, name));
    const truncated = await verifyFolder(dir, { certificatePem: signer.certificatePem, allowChainGaps: true });
    assert.equal(truncated.ok, false, 'a truncated tail fails even when gaps are allowed');
    assert.match(
      lines(truncated).join('\n'),
      /FAIL chain test-installation: recording 2 missing from this folder \(the signed checkpoint names head 2; last present: t1\)/,
    );

    const forged = JSON.parse(await readFile(join(dir, checkpoint.fileName), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, checkpoint.fileName), `${JSON.stringify({ ...forged, sequence: 1 }, null, 2)}\n`);
    assert.match(
      lines(await verifyFolder(dir, { certificatePem: signer.certificatePem })).join('\n'),
      /FAIL checkpoint-2\.json: signature does not verify/,
    );
  });

  it('rejects an unreadable folder with INTEGRITY_IO and a bad certificate with INTEGRITY_CERT_INVALID', async () => {
    await assert.rejects(verifyFolder(join(root, 'no-such-folder')), { code: 'INTEGRITY_IO' });
    const dir = await folder();
    await assert.rejects(verifyFolder(dir, { certificatePem: 'not a certificate' }), {
      code: 'INTEGRITY_CERT_INVALID',
    });
  });
});

describe('runVerifyCommand', () => {
  it('prints OK lines and a summary and returns 0 when everything holds', async () => {
    const dir = await folder();
    await seal(dir, 'v1', await newLedger());
    const certPath = join(root, `cert-${++counter}.pem`);
    await writeFile(certPath, signer.certificatePem);
    const { code, out, err } = await command(dir, { cert: certPath });
    assert.equal(code, 0, out.join('\n'));
    assert.deepEqual(err, []);
    assert.match(out[0] ?? '', /^certificate: CN=callrec test-installation \(SHA-256 [0-9A-F:]+\) from /);
    assert.equal(out[1], 'OK v1: 2 files match, signature valid');
    assert.equal(out.at(-1), 'verified: 1 recording(s), 0 failed');
  });

  it('returns 1 and a FAIL line when a recording does not verify', async () => {
    const dir = await folder();
    await seal(dir, 'v2');
    await seal(dir, 'v3', undefined, makeSigner('another-installation'));
    const certPath = join(root, `cert-${++counter}.pem`);
    await writeFile(certPath, signer.certificatePem);
    const { code, out } = await command(dir, { cert: certPath });
    assert.equal(code, 1);
    assert.match(out.join('\n'), /^FAIL v3: signature does not verify with the certificate/m);
    assert.match(out.at(-1) ?? '', /^verification FAILED: 2 recording\(s\), 1 failed/);
  });

  it('returns 2 for a missing folder, an unreadable certificate or one that is not a certificate', async () => {
    assert.equal((await command(join(root, 'nowhere'))).code, 2);
    const dir = await folder();
    const missing = await command(dir, { cert: join(root, 'missing.pem') });
    assert.equal(missing.code, 2);
    assert.match(missing.err.join(), /cannot read certificate/);
    const junk = join(root, `junk-${++counter}.pem`);
    await writeFile(junk, 'junk');
    assert.equal((await command(dir, { cert: junk })).code, 2);
  });
});
