/**
 * Sealing a finished recording (issue 6): `<id>.json` with `integrity.chain`, `<id>.sha256`
 * (metadata first, then audio), `<id>.sha256.SHA256withRSA.sig`, the ledger entry, optionally
 * `<id>.sha256.tsr`; profiles with `signing: false` get neither checksum nor signature.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  Ledger,
  ledgerDir,
  parseChecksumFile,
  parseSignatureFile,
  sealRecording,
  verifyChain,
  verifySignature,
  type RecordingSigner,
  type TimestampClient,
} from '../../../src/integrity/index.js';
import { openDatabase, SqliteLedgerStore, type SqliteDatabase } from '../../../src/store/index.js';

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

/** A small mono 16-bit 8 kHz WAV with a valid RIFF header. */
function wav(samples: number, seed: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((i + seed) / 7)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

let root: string;
let signer: RecordingSigner;
let counter = 0;
const databases: SqliteDatabase[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-seal-'));
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
  return new Ledger({ store: new SqliteLedgerStore(db), checkpointDir: ledgerDir(dataDir) });
}

/** A recording folder with `<id>-caller.wav` and `<id>-callee.wav`. */
async function recordingFolder(id: string, dir = join(root, `rec-${++counter}`)): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${id}-caller.wav`), wav(800, 1));
  await writeFile(join(dir, `${id}-callee.wav`), wav(800, 2));
  return dir;
}

const METADATA = { id: 'x', profile: 'default', direction: 'inbound', caller: '+4940111222', callee: '201' };

describe('sealRecording', () => {
  it('writes metadata with the chain link, a checksum file (metadata first) and a verifying signature', async () => {
    const ledger = await newLedger();
    const id = 'rec-20240101-0001';
    const dir = await recordingFolder(id);
    const audioFiles = [`${id}-caller.wav`, `${id}-callee.wav`];
    const summary = await sealRecording({ dir, id, audioFiles, metadata: { ...METADATA, id }, signer, ledger });

    const metadata = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(metadata, {
      ...METADATA,
      id,
      integrity: { chain: { sequence: 1, previousChecksumSha256: null, installationId: 'test-installation' } },
    });
    const checksumBytes = await readFile(join(dir, `${id}.sha256`));
    const parsed = parseChecksumFile(checksumBytes.toString());
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.entries.map((entry) => entry.name),
      [`${id}.json`, ...audioFiles],
    );
    for (const entry of parsed.entries) assert.equal(entry.sha256Hex, sha256(await readFile(join(dir, entry.name))));
    const signature = parseSignatureFile(await readFile(join(dir, `${id}.sha256.SHA256withRSA.sig`), 'utf8'));
    assert.ok(signature !== undefined && verifySignature(checksumBytes, signature, signer.certificatePem));

    assert.equal(summary.signed, true);
    assert.equal(summary.checksumSha256, sha256(checksumBytes));
    assert.deepEqual(summary.chain, { sequence: 1, previousChecksumSha256: null, installationId: 'test-installation' });
    assert.equal(summary.bytesHashed, (await stat(join(dir, `${id}.json`))).size + 2 * (44 + 1600));
    assert.deepEqual(await ledger.head(), {
      sequence: 1,
      recordingId: id,
      checksumSha256: sha256(checksumBytes),
      previousChecksumSha256: null,
      sealedAt: (await ledger.head())?.sealedAt,
    });
    for (const name of await readdir(dir)) {
      assert.equal(
        (await stat(join(dir, name))).mode & 0o777,
        name.endsWith('.wav') ? (await stat(join(dir, name))).mode & 0o777 : 0o600,
      );
    }
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary files left',
    );
  });

  it('links each recording to the SHA-256 of the previous checksum file, also when seals run concurrently', async () => {
    const ledger = await newLedger();
    const ids = Array.from({ length: 8 }, (_, i) => `conc-${i}`);
    const dir = join(root, `shared-${++counter}`);
    for (const id of ids) await recordingFolder(id, dir);
    await Promise.all(
      ids.map((id) =>
        sealRecording({
          dir,
          id,
          audioFiles: [`${id}-caller.wav`, `${id}-callee.wav`],
          metadata: { id },
          signer,
          ledger,
        }),
      ),
    );
    const entries = await ledger.entries();
    assert.deepEqual(verifyChain(entries), []);
    assert.equal(entries.length, ids.length);
    for (const entry of entries) {
      const metadata = JSON.parse(await readFile(join(dir, `${entry.recordingId}.json`), 'utf8')) as {
        integrity: { chain: { sequence: number; previousChecksumSha256: string | null } };
      };
      assert.equal(metadata.integrity.chain.sequence, entry.sequence);
      assert.equal(metadata.integrity.chain.previousChecksumSha256, entry.previousChecksumSha256);
      assert.equal(entry.checksumSha256, sha256(await readFile(join(dir, `${entry.recordingId}.sha256`))));
    }
  });

  it('writes neither checksum nor signature for signing: false (no signer), and does not chain', async () => {
    const ledger = await newLedger();
    const id = 'unsigned';
    const dir = await recordingFolder(id);
    const summary = await sealRecording({
      dir,
      id,
      audioFiles: [`${id}-caller.wav`, `${id}-callee.wav`],
      metadata: { id },
      ledger,
    });
    assert.equal(summary.signed, false);
    assert.deepEqual((await readdir(dir)).sort(), [`${id}-callee.wav`, `${id}-caller.wav`, `${id}.json`]);
    assert.deepEqual(JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')), { id });
    assert.equal(await ledger.head(), undefined);
  });

  it('signs without a chain when no ledger is given, keeping other integrity fields', async () => {
    const id = 'no-ledger';
    const dir = await recordingFolder(id);
    const summary = await sealRecording({
      dir,
      id,
      audioFiles: [`${id}-caller.wav`],
      metadata: { id, integrity: { clockSync: 'synchronised' } },
      signer,
    });
    assert.equal(summary.chain, undefined);
    assert.deepEqual(JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')), {
      id,
      integrity: { clockSync: 'synchronised' },
    });
    assert.ok(summary.checksumPath !== undefined);
  });

  it('leaves the ledger untouched when an audio file is missing, and refuses a second seal of a sealed recording', async () => {
    const ledger = await newLedger();
    const dir = await recordingFolder('partial');
    await assert.rejects(
      sealRecording({
        dir,
        id: 'partial',
        audioFiles: ['partial-caller.wav', 'partial.wav'],
        metadata: {},
        signer,
        ledger,
      }),
      { code: 'INTEGRITY_IO' },
    );
    assert.equal(await ledger.head(), undefined);
    await sealRecording({ dir, id: 'partial', audioFiles: ['partial-caller.wav'], metadata: {}, signer, ledger });
    await assert.rejects(
      sealRecording({ dir, id: 'partial', audioFiles: ['partial-caller.wav'], metadata: {}, signer, ledger }),
      (error: unknown) => error instanceof AppError && error.code === 'INTEGRITY_ALREADY_SEALED',
    );
  });

  it('refuses audio names that are not plain names starting with the id, or are integrity files', async () => {
    const dir = await recordingFolder('names');
    for (const audio of ['other.wav', '../names.wav', 'names.sha256', 'names.json', 'names\\x.wav']) {
      await assert.rejects(
        sealRecording({ dir, id: 'names', audioFiles: [audio], metadata: {}, signer }),
        { code: 'INTEGRITY_FILE_NAME' },
        audio,
      );
    }
    await assert.rejects(sealRecording({ dir, id: '../names', audioFiles: [], metadata: {}, signer }), {
      code: 'INTEGRITY_FILE_NAME',
    });
  });

  it('stores the TSA response as <id>.sha256.tsr, and reports a TSA failure without failing the seal', async () => {
    const id = 'stamped';
    const dir = await recordingFolder(id);
    const seen: Buffer[] = [];
    const tsa: TimestampClient = {
      timestamp: async (data) => {
        seen.push(data);
        return { response: Buffer.from('fake tsr'), genTime: '2024-01-01T00:00:00Z', serialNumber: '01' };
      },
    };
    const summary = await sealRecording({
      dir,
      id,
      audioFiles: [`${id}-caller.wav`],
      metadata: {},
      signer,
      timestamp: tsa,
    });
    assert.deepEqual(seen, [await readFile(join(dir, `${id}.sha256`))], 'the token is over the checksum file bytes');
    assert.deepEqual(summary.timestamp, {
      ok: true,
      path: join(dir, `${id}.sha256.tsr`),
      genTime: '2024-01-01T00:00:00Z',
    });
    assert.equal(await readFile(join(dir, `${id}.sha256.tsr`), 'utf8'), 'fake tsr');

    const failing: TimestampClient = {
      timestamp: () => Promise.reject(new AppError('INTEGRITY_TIMESTAMP', 'TSA down', { retriable: true })),
    };
    const id2 = 'unstamped';
    const dir2 = await recordingFolder(id2);
    const ledger = await newLedger();
    const failed = await sealRecording({
      dir: dir2,
      id: id2,
      audioFiles: [`${id2}-caller.wav`],
      metadata: {},
      signer,
      ledger,
      timestamp: failing,
    });
    assert.equal(failed.timestamp?.ok, false);
    assert.equal((await ledger.head())?.recordingId, id2, 'sealed and chained all the same');
  });
});
