/** Fakes and helpers of upload-queue.test.ts: virtual clock, a controllable target, spool recordings. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isTemporaryName,
  LocalTarget,
  UploadQueue,
  type ArchiveTarget,
  type ArchivedEvent,
  type AttemptFailedEvent,
  type DeliveredEvent,
  type UploadClock,
  type UploadQueueOptions,
} from '../../../src/archive/index.js';
import { AppError } from '../../../src/errors.js';
import { checksumFileText, parseChecksumFile, sha256Hex } from '../../../src/integrity/index.js';
import { openDatabase, SqliteUploadStore, type SqliteDatabase } from '../../../src/store/index.js';

export const T0 = Date.parse('2024-06-30T22:30:05Z');
export const START = new Date('2024-06-30T22:10:00Z');

/** Virtual time: timers fire only when the test advances the clock. */
export class FakeClock implements UploadClock {
  #now = T0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  now(): Date {
    return new Date(this.#now);
  }
  setTimeout(callback: () => void, delayMs: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + delayMs, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
    }
    this.#now = end;
  }
}

/** A LocalTarget that can be down, corrupt read-backs, or hold uploads at a gate. */
export class FakeTarget implements ArchiveTarget {
  readonly type = 'fake';
  down = false;
  corruptReads = 0;
  gate: Promise<void> | undefined;
  active = 0;
  maxActive = 0;
  onActive: (() => void) | undefined;
  constructor(
    readonly id: string,
    readonly inner: LocalTarget,
  ) {}
  #check(): void {
    if (this.down) throw new AppError('ARCHIVE_CONNECT', `${this.id}: connection refused`, { retriable: true });
  }
  async ensureFolder(folder: string): Promise<void> {
    this.#check();
    await this.inner.ensureFolder(folder);
  }
  async upload(localPath: string, folder: string, name: string): Promise<void> {
    this.#check();
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.onActive?.();
    try {
      await this.gate;
      await this.inner.upload(localPath, folder, name);
    } finally {
      this.active--;
    }
  }
  async sha256(folder: string, name: string): Promise<string | undefined> {
    const hash = await this.inner.sha256(folder, name);
    if (hash === undefined || this.corruptReads === 0) return hash;
    this.corruptReads--;
    return '0'.repeat(64);
  }
  size = (folder: string, name: string): Promise<number | undefined> => this.inner.size(folder, name);
  download = (folder: string, name: string, localPath: string): Promise<boolean> =>
    this.inner.download(folder, name, localPath);
  delete = (folder: string, name: string): Promise<void> => this.inner.delete(folder, name);
  list = (folder: string): Promise<string[]> => this.inner.list(folder);
  close = (): Promise<void> => this.inner.close();
}

export interface Harness {
  readonly dir: string;
  readonly spool: string;
  readonly clock: FakeClock;
  readonly store: SqliteUploadStore;
  readonly db: SqliteDatabase;
  readonly failed: AttemptFailedEvent[];
  readonly delivered: DeliveredEvent[];
  readonly archived: ArchivedEvent[];
  readonly recovered: string[];
  target(id: string): Promise<FakeTarget>;
  queue(targets: readonly ArchiveTarget[], options?: Partial<UploadQueueOptions>): UploadQueue;
}

/** A case folder with a spool, a database and a fake clock; `close` the database at the end. */
export async function harness(dir: string): Promise<Harness> {
  const spool = join(dir, 'recordings');
  await mkdir(spool, { recursive: true });
  const db = await openDatabase(join(dir, 'callrec.db'));
  const h: Harness = {
    dir,
    spool,
    clock: new FakeClock(),
    store: new SqliteUploadStore(db),
    db,
    failed: [],
    delivered: [],
    archived: [],
    recovered: [],
    async target(id) {
      const targetRoot = join(dir, `target-${id}`);
      await mkdir(targetRoot);
      return new FakeTarget(id, new LocalTarget({ id, root: targetRoot }));
    },
    queue: (targets, options = {}) =>
      new UploadQueue({
        targets,
        store: h.store,
        clock: h.clock,
        intervalSeconds: 60,
        maxBackoffSeconds: 240,
        jitter: 0,
        timeZone: 'Europe/Berlin',
        onAttemptFailed: (event) => h.failed.push(event),
        onDelivered: (event) => h.delivered.push(event),
        onArchived: (event) => h.archived.push(event),
        onRecovered: (targetId) => h.recovered.push(targetId),
        ...options,
      }),
  };
  return h;
}

/** A sealed-looking spool folder: metadata, audio, checksum file, signature, and a stray temp file. */
export async function spoolRecording(spool: string, id: string, signed = true): Promise<string> {
  const dir = join(spool, id);
  await mkdir(dir);
  const files: Record<string, Buffer> = {
    [`${id}.json`]: Buffer.from(JSON.stringify({ id, channels: 'both-stereo' })),
    [`${id}.wav`]: randomBytes(200_000),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  if (signed) {
    const entries = Object.entries(files).map(([name, data]) => ({ name, sha256Hex: sha256Hex(data) }));
    await writeFile(join(dir, `${id}.sha256`), checksumFileText(entries));
    await writeFile(join(dir, `${id}.sha256.SHA256withRSA.sig`), randomBytes(256));
  }
  await writeFile(join(dir, `.${id}.json.1a2b3c.tmp`), 'half-written metadata');
  return dir;
}

export const recording = (spool: string, id: string, targets: readonly string[], folder = 'rec/$Y/$M/$D') => ({
  id,
  dir: join(spool, id),
  start: START,
  profile: 'trading',
  targets: targets.map((targetId) => ({ targetId, folder })),
});

/** `shasum -a 256 -c <id>.sha256` in the target folder, plus: no temporaries, signature present. */
export async function assertArchived(target: FakeTarget, folder: string, id: string, signed = true): Promise<void> {
  const all = await target.list(folder);
  assert.ok(!all.some(isTemporaryName), all.join(', '));
  assert.ok(!all.some((name) => name.endsWith('.tmp')), all.join(', '));
  const names = all.filter((name) => name.startsWith(`${id}.`));
  if (!signed) {
    assert.deepEqual(names, [`${id}.json`, `${id}.wav`]);
    return;
  }
  assert.deepEqual(names, [`${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`, `${id}.wav`]);
  const parsed = parseChecksumFile(await readFile(join(target.inner.root, folder, `${id}.sha256`), 'utf8'));
  assert.ok(parsed.ok);
  for (const entry of parsed.entries) assert.equal(await target.sha256(folder, entry.name), entry.sha256Hex);
}

export const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );
