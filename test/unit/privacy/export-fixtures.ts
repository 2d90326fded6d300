/**
 * Fixtures of the export and erase tests: really sealed recordings (checksums and signature by the
 * shared test key store) in the spool of a privacy bed, copies of them on archive targets that
 * are local folders (`LocalTarget`, which both export and erase drive), and their call rows.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalTarget } from '../../../src/archive/index.js';
import { sealRecording } from '../../../src/integrity/index.js';
import { SqliteCallStore, type RecordingStart } from '../../../src/store/index.js';
import type { PrivacyBed } from './privacy-fixtures.js';

/** The folder recordings are archived to on every test target. */
export const TARGET_FOLDER = 'Rec/2024-01-01';

/** A mono 16-bit 8 kHz WAV with a valid RIFF header and `samples` samples of a tone. */
export function wav(samples: number, seed: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((i + seed) / 5)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** An archive target in a temp folder; `remove()` deletes it. */
export async function folderTarget(
  id: string,
): Promise<{ target: LocalTarget; root: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `callrec-export-target-${id}-`));
  return { target: new LocalTarget({ id, root }), root, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Options of {@link sealedRecording}. */
export interface SealedRecordingOptions {
  readonly caller?: string | null;
  readonly callee?: string | null;
  readonly start?: string;
  readonly retentionDays?: number | null;
  readonly statutory?: boolean;
  /** Targets that get a copy (upload rows `done`). */
  readonly targets?: readonly LocalTarget[];
  /** Remove the spool copy afterwards, as `uploads.keepLocal: false` does. @default false */
  readonly removeSpool?: boolean;
  /** Write a `calls` row with the same id. @default true */
  readonly callRow?: boolean;
}

/** The names of a sealed both-separate recording. */
export function sealedNames(id: string): string[] {
  return [`${id}-callee.wav`, `${id}-caller.wav`, `${id}.json`, `${id}.sha256`, `${id}.sha256.SHA256withRSA.sig`];
}

/**
 * A recording sealed with the bed's key store (both-separate: two WAVs), registered `spooled` in
 * the catalogue (or `archived` when every target has it), with a call row and target copies.
 */
export async function sealedRecording(
  bed: PrivacyBed,
  id: string,
  options: SealedRecordingOptions = {},
): Promise<string> {
  const start = options.start ?? '2024-01-01T10:00:00.000Z';
  const caller = options.caller === undefined ? '+4930111222' : options.caller;
  const callee = options.callee === undefined ? '+4930123456201' : options.callee;
  const dir = join(bed.spoolRoot, id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${id}-caller.wav`), wav(4000, id.length));
  await writeFile(join(dir, `${id}-callee.wav`), wav(4000, id.length + 3));
  await sealRecording({
    dir,
    id,
    audioFiles: [`${id}-caller.wav`, `${id}-callee.wav`],
    metadata: { id, profile: 'trading', direction: 'inbound', caller, callee },
    signer: bed.keyStore,
  });
  if (options.callRow !== false) {
    await new SqliteCallStore(bed.db).recordCallStart({
      id,
      direction: 'inbound',
      callIdA: `a-${id}@trunk`,
      caller,
      callee,
      decisionProfile: 'trading',
      decisionReason: `profile "trading": inbound call to number ${callee ?? '?'} of recorded group "trading"`,
      startedAt: start,
    });
  }
  const registration: RecordingStart = {
    id,
    dir,
    profile: 'trading',
    direction: 'inbound',
    caller,
    callee,
    start,
    retentionDays: options.retentionDays === undefined ? 30 : options.retentionDays,
    statutory: options.statutory ?? false,
  };
  await bed.catalogue.register(registration);
  await bed.catalogue.markSpooled(id, { at: new Date(Date.parse(start) + 60_000).toISOString(), reason: 'BYE' });
  const targets = options.targets ?? [];
  if (targets.length > 0) {
    await bed.uploads.enqueue({
      recordingId: id,
      dir,
      start,
      targets: targets.map((target) => ({ targetId: target.id, folder: TARGET_FOLDER })),
    });
    for (const target of targets) {
      await target.ensureFolder(TARGET_FOLDER);
      for (const name of sealedNames(id)) await target.upload(join(dir, name), TARGET_FOLDER, name);
      await bed.uploads.claimDue(target.id, new Date('2100-01-01T00:00:00Z'), 100);
      await bed.uploads.markDone(id, target.id);
    }
    await bed.uploads.markArchived(id, options.removeSpool === true);
  }
  if (options.removeSpool === true) await rm(dir, { recursive: true, force: true });
  return dir;
}
