/**
 * The recording chain (issue 6, SPEC §5 "Beyond"): each link names the SHA-256 of the previous
 * checksum file; `verifyChain` finds gaps, forks and broken links; `extend` hands out links one
 * at a time; signed checkpoints of the head make a deleted latest recording provable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  checkpointFileText,
  describeChainFinding,
  Ledger,
  ledgerDir,
  parseCheckpointFile,
  parseSignatureFile,
  verifyChain,
  verifySignature,
  type RecordingSigner,
} from '../../../src/integrity/index.js';
import { openDatabase, SqliteLedgerStore, type LedgerEntry, type SqliteDatabase } from '../../../src/store/index.js';

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

const hash = (text: string): string => createHash('sha256').update(text).digest('hex');

function chain(length: number): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (let sequence = 1; sequence <= length; sequence++) {
    entries.push({
      sequence,
      recordingId: `rec-${sequence}`,
      checksumSha256: hash(`rec-${sequence}`),
      previousChecksumSha256: entries.at(-1)?.checksumSha256 ?? null,
      sealedAt: '2024-01-01T00:00:00.000Z',
    });
  }
  return entries;
}

let dir: string;
let signer: RecordingSigner;
const databases: SqliteDatabase[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-ledger-'));
  signer = makeSigner();
});

after(async () => {
  await Promise.all(databases.map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
});

async function newLedger(name: string, now?: () => Date): Promise<{ ledger: Ledger; store: SqliteLedgerStore }> {
  const db = await openDatabase(join(dir, name, 'callrec.db'));
  databases.push(db);
  const store = new SqliteLedgerStore(db);
  return { store, ledger: new Ledger({ store, checkpointDir: ledgerDir(join(dir, name)), ...(now ? { now } : {}) }) };
}

describe('verifyChain', () => {
  it('finds nothing in an intact chain', () => {
    assert.deepEqual(verifyChain(chain(5)), []);
    assert.deepEqual(verifyChain([]), []);
  });

  it('reports a removed entry as a gap, once per run of missing sequences', () => {
    const entries = chain(7).filter((entry) => ![3, 5, 6].includes(entry.sequence));
    assert.deepEqual(verifyChain(entries), [
      { kind: 'gap', from: 3, to: 3 },
      { kind: 'gap', from: 5, to: 6 },
    ]);
    assert.equal(describeChainFinding({ kind: 'gap', from: 5, to: 6 }), 'recordings 5..6 are missing');
  });

  it('reports missing leading entries unless told where the entries start', () => {
    const tail = chain(5).slice(2);
    assert.deepEqual(verifyChain(tail), [{ kind: 'gap', from: 1, to: 2 }]);
    assert.deepEqual(verifyChain(tail, { fromSequence: 3 }), []);
  });

  it('reports a link that does not name its predecessor, and a first entry that names one', () => {
    const entries = chain(3);
    const altered = [
      { ...entries[0]!, previousChecksumSha256: hash('x') },
      entries[1]!,
      { ...entries[2]!, previousChecksumSha256: hash('y') },
    ];
    assert.deepEqual(verifyChain(altered), [
      { kind: 'broken-link', sequence: 1, recordingId: 'rec-1', expected: null, actual: hash('x') },
      { kind: 'broken-link', sequence: 3, recordingId: 'rec-3', expected: hash('rec-2'), actual: hash('y') },
    ]);
  });

  it('reports a fork: two entries with one sequence', () => {
    const entries = chain(2);
    const fork = { ...entries[1]!, recordingId: 'rec-2b', checksumSha256: hash('2b') };
    assert.deepEqual(verifyChain([...entries, fork]), [
      { kind: 'duplicate', sequence: 2, recordingIds: ['rec-2', 'rec-2b'] },
    ]);
  });

  it('reports a truncated tail and a disagreeing head against a checkpoint', () => {
    const entries = chain(5);
    assert.deepEqual(
      verifyChain(entries.slice(0, 3), { checkpoint: { sequence: 5, headChecksumSha256: hash('rec-5') } }),
      [{ kind: 'gap', from: 4, to: 5 }],
    );
    assert.deepEqual(verifyChain(entries, { checkpoint: { sequence: 4, headChecksumSha256: hash('other') } }), [
      { kind: 'checkpoint-mismatch', sequence: 4, expected: hash('other'), actual: hash('rec-4') },
    ]);
    assert.deepEqual(verifyChain(entries, { checkpoint: { sequence: 5, headChecksumSha256: hash('rec-5') } }), []);
  });
});

describe('Ledger.extend', () => {
  it('hands out links 1, 2, 3 naming the previous checksum, and appends what the seal returns', async () => {
    const { ledger, store } = await newLedger('extend', () => new Date('2024-05-01T12:00:00Z'));
    const links: unknown[] = [];
    for (const id of ['a', 'b', 'c']) {
      const entry = await ledger.extend(id, async (link) => {
        links.push(link);
        return { checksumSha256: hash(id) };
      });
      assert.equal(entry.sealedAt, '2024-05-01T12:00:00.000Z');
    }
    assert.deepEqual(links, [
      { sequence: 1, previousChecksumSha256: null },
      { sequence: 2, previousChecksumSha256: hash('a') },
      { sequence: 3, previousChecksumSha256: hash('b') },
    ]);
    assert.deepEqual(verifyChain(await store.ledgerEntries()), []);
  });

  it('runs concurrent seals one at a time, so the chain never forks', async () => {
    const { ledger } = await newLedger('concurrent');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ledger.extend(`r${i}`, async () => {
          maxInside = Math.max(maxInside, ++inside);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inside--;
          return { checksumSha256: hash(`r${i}`) };
        }),
      ),
    );
    assert.equal(maxInside, 1);
    const entries = await ledger.entries();
    assert.deepEqual(
      entries.map((entry) => entry.sequence),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.deepEqual(verifyChain(entries), []);
  });

  it('appends nothing when the seal fails; the next recording takes the same link', async () => {
    const { ledger } = await newLedger('failing');
    await ledger.extend('a', async () => ({ checksumSha256: hash('a') }));
    await assert.rejects(
      ledger.extend('b', async () => {
        throw new Error('disk full');
      }),
      /disk full/,
    );
    const entry = await ledger.extend('c', async (link) => {
      assert.deepEqual(link, { sequence: 2, previousChecksumSha256: hash('a') });
      return { checksumSha256: hash('c') };
    });
    assert.equal(entry.sequence, 2);
  });

  it('refuses to seal a recording twice (INTEGRITY_ALREADY_SEALED)', async () => {
    const { ledger } = await newLedger('twice');
    await ledger.extend('a', async () => ({ checksumSha256: hash('a') }));
    await assert.rejects(
      ledger.extend('a', async () => ({ checksumSha256: hash('a2') })),
      (error: unknown) => error instanceof AppError && error.code === 'INTEGRITY_ALREADY_SEALED',
    );
  });
});

describe('Ledger.checkpoint', () => {
  it('writes <dataDir>/ledger/checkpoint-<n>.json and its signature, and a ledger row', async () => {
    const { ledger, store } = await newLedger('checkpoint', () => new Date('2024-06-01T00:00:00Z'));
    for (const id of ['a', 'b']) await ledger.extend(id, async () => ({ checksumSha256: hash(id) }));
    const written = await ledger.checkpoint(signer);
    assert.equal(written.path, join(dir, 'checkpoint', 'ledger', 'checkpoint-2.json'));
    assert.equal(written.signaturePath, `${written.path}.SHA256withRSA.sig`);
    const bytes = await readFile(written.path);
    const statement = {
      installationId: 'test-installation',
      sequence: 2,
      headChecksumSha256: hash('b'),
      createdAt: '2024-06-01T00:00:00.000Z',
    };
    assert.equal(bytes.toString(), checkpointFileText(statement));
    assert.deepEqual(parseCheckpointFile(bytes.toString()), statement);
    const signature = parseSignatureFile(await readFile(written.signaturePath, 'utf8'));
    assert.ok(signature !== undefined && verifySignature(bytes, signature, signer.certificatePem));
    assert.equal((await stat(join(dir, 'checkpoint', 'ledger'))).mode & 0o777, 0o700);
    assert.deepEqual(await store.latestCheckpoint(), {
      ...statement,
      fileName: 'checkpoint-2.json',
      signatureBase64: signature.toString('base64'),
    });
    assert.deepEqual(await ledger.verify(), []);
  });

  it('checkpoints an empty chain as sequence 0 with no head checksum', async () => {
    const { ledger } = await newLedger('empty');
    const written = await ledger.checkpoint(signer);
    assert.equal(written.fileName, 'checkpoint-0.json');
    assert.equal(written.headChecksumSha256, null);
    assert.equal(parseCheckpointFile(await readFile(written.path, 'utf8'))?.sequence, 0);
  });

  it('lets verify() prove a truncated tail against the latest checkpoint', async () => {
    const entries = chain(4);
    const store = {
      ledgerEntries: async () => entries.slice(0, 2), // entries 3 and 4 gone behind the ledger's back
      latestCheckpoint: async () => ({
        sequence: 4,
        headChecksumSha256: entries[3]!.checksumSha256,
        installationId: 'i',
        createdAt: 't',
        fileName: 'checkpoint-4.json',
        signatureBase64: '',
      }),
    } as unknown as SqliteLedgerStore;
    const ledger = new Ledger({ store, checkpointDir: dir });
    assert.deepEqual(await ledger.verify(), [{ kind: 'gap', from: 3, to: 4 }]);
  });

  it('does not take a checkpoint-like file for a checkpoint', () => {
    assert.equal(parseCheckpointFile('{"type":"other","version":1}'), undefined);
    assert.equal(parseCheckpointFile('not json'), undefined);
    const text = checkpointFileText({ installationId: 'i', sequence: 1, headChecksumSha256: 'X', createdAt: 't' });
    assert.equal(parseCheckpointFile(text), undefined, 'malformed head checksum');
  });
});
