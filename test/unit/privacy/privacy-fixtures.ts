/**
 * Shared fixtures of the privacy tests: a real database and key store in a temp dir, a spool with
 * recordings' files, and in-memory archive targets that can be told to fail.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../src/errors.js';
import { openKeyStore, type KeyStore } from '../../../src/integrity/index.js';
import { DisposalLog, type DisposalTarget } from '../../../src/privacy/index.js';
import {
  openDatabase,
  SqliteAuditLog,
  SqliteDisposalStore,
  SqliteRecordingStore,
  SqliteUploadStore,
  type RecordingStart,
  type SqliteDatabase,
} from '../../../src/store/index.js';

/** An archive target in memory: folder → names; `fail` makes list or delete reject. */
export class MemoryTarget implements DisposalTarget {
  readonly id: string;
  readonly folders = new Map<string, Set<string>>();
  fail: 'list' | 'delete' | undefined;
  readonly deletes: string[] = [];

  constructor(id: string) {
    this.id = id;
  }

  put(folder: string, ...names: string[]): void {
    const set = this.folders.get(folder) ?? new Set<string>();
    for (const name of names) set.add(name);
    this.folders.set(folder, set);
  }

  names(folder: string): string[] {
    return [...(this.folders.get(folder) ?? [])].sort();
  }

  list(folder: string): Promise<string[]> {
    if (this.fail === 'list') return Promise.reject(unreachable(this.id));
    return Promise.resolve(this.names(folder));
  }

  delete(folder: string, name: string): Promise<void> {
    if (this.fail === 'delete') return Promise.reject(unreachable(this.id));
    this.deletes.push(`${folder}/${name}`);
    this.folders.get(folder)?.delete(name);
    return Promise.resolve();
  }
}

function unreachable(id: string): AppError {
  return new AppError('ARCHIVE_CONNECT', `${id}: connection refused`, { retriable: true });
}

/** Everything a privacy test needs, in its own temp dir. */
export interface PrivacyBed {
  readonly dir: string;
  readonly spoolRoot: string;
  readonly db: SqliteDatabase;
  readonly keyStore: KeyStore;
  readonly catalogue: SqliteRecordingStore;
  readonly uploads: SqliteUploadStore;
  readonly audit: SqliteAuditLog;
  readonly disposalLog: DisposalLog;
  readonly nas: MemoryTarget;
  readonly sftp: MemoryTarget;
  close(): Promise<void>;
}

let sharedKeyDir: Promise<string> | undefined;

/** One key store for all tests of a process (key generation is the slow part). */
async function keyStore(): Promise<KeyStore> {
  sharedKeyDir ??= mkdtemp(join(tmpdir(), 'callrec-privacy-key-'));
  return openKeyStore({ dataDir: await sharedKeyDir, password: 'test password' });
}

export async function startBed(): Promise<PrivacyBed> {
  const dir = await mkdtemp(join(tmpdir(), 'callrec-privacy-'));
  const db = await openDatabase(join(dir, 'callrec.db'));
  const keys = await keyStore();
  const spoolRoot = join(dir, 'recordings');
  await mkdir(spoolRoot);
  return {
    dir,
    spoolRoot,
    db,
    keyStore: keys,
    catalogue: new SqliteRecordingStore(db),
    uploads: new SqliteUploadStore(db),
    audit: new SqliteAuditLog(db),
    disposalLog: new DisposalLog({ store: new SqliteDisposalStore(db), signer: keys }),
    nas: new MemoryTarget('nas'),
    sftp: new MemoryTarget('sftp'),
    close: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Removes the shared key store's folder (call once in the last `after`). */
export async function removeSharedKey(): Promise<void> {
  if (sharedKeyDir !== undefined) await rm(await sharedKeyDir, { recursive: true, force: true });
}

/** The files of a both-stereo recording. */
export function recordingFiles(id: string): string[] {
  return [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`];
}

/**
 * A sealed recording: catalogue row `spooled` (or `archived`), spool files (unless `spool: false`),
 * upload rows done to each given target with its files in `Rec/<id-day>`.
 */
export async function addRecording(
  bed: PrivacyBed,
  id: string,
  options: {
    readonly start?: string;
    readonly retentionDays?: number | null;
    readonly statutory?: boolean;
    readonly targets?: readonly MemoryTarget[];
    readonly spool?: boolean;
  } = {},
): Promise<{ readonly folder: string }> {
  const start = options.start ?? '2024-01-01T10:00:00.000Z';
  const dir = join(bed.spoolRoot, id);
  const registration: RecordingStart = {
    id,
    dir,
    profile: 'trading',
    direction: 'inbound',
    caller: '+4930111',
    callee: '201',
    start,
    retentionDays: options.retentionDays === undefined ? 30 : options.retentionDays,
    statutory: options.statutory ?? false,
  };
  await bed.catalogue.register(registration);
  await bed.catalogue.markSpooled(id, { at: start, reason: 'caller hung up' });
  if (options.spool !== false) {
    await mkdir(dir);
    for (const name of recordingFiles(id)) await writeFile(join(dir, name), name);
  }
  const folder = `Rec/${start.slice(0, 10)}`;
  const targets = options.targets ?? [];
  if (targets.length > 0) {
    await bed.uploads.enqueue({
      recordingId: id,
      dir,
      start,
      targets: targets.map((target) => ({ targetId: target.id, folder })),
    });
    for (const target of targets) {
      await bed.uploads.claimDue(target.id, new Date('2100-01-01T00:00:00Z'), 100);
      await bed.uploads.markDone(id, target.id);
      target.put(folder, ...recordingFiles(id));
    }
  }
  return { folder };
}
