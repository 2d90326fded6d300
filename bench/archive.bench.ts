/**
 * `npm run bench:archive [-- --recordings 20 --size-mb 10 --concurrency 2 --targets local,smb,sftp]`:
 * upload throughput of the archive (issue 8) to each kind of target on loopback. Builds N sealed
 * recordings (random audio of the given size in a WAV header, metadata, `<id>.sha256` and its
 * signature from `sealRecording` with a fresh keystore), then per target runs the real
 * UploadQueue (sqlite store, `keepLocal`) with the real target class — LocalTarget on a temp
 * dir, SmbTarget (smbclient) against a test smbd, SftpTarget against a test sshd — and measures
 * the wall time from enqueueing all recordings until every one is delivered: uploaded under its
 * temporary name, renamed, read back and checked against the checksum file. Afterwards the files
 * are counted on the server's disk. The spool was just written, so it is read from the page cache.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  LocalTarget,
  SftpTarget,
  SmbTarget,
  UploadQueue,
  type ArchiveRecording,
  type ArchiveTarget,
} from '../src/archive/index.js';
import { openKeyStore, sealRecording, type RecordingSigner } from '../src/integrity/index.js';
import { openDatabase, SqliteUploadStore } from '../src/store/index.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../test/support/samba.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../test/support/sshd.js';

const TARGET_KINDS = ['local', 'smb', 'sftp'] as const;
type TargetKind = (typeof TARGET_KINDS)[number];
const FOLDER = 'bench/$Y/$M/Record-$Y_$M_$D';

const { values } = parseArgs({
  options: {
    recordings: { type: 'string', default: '20' },
    'size-mb': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '2' },
    targets: { type: 'string', default: TARGET_KINDS.join(',') },
  },
  strict: true,
});
const RECORDINGS = Number(values.recordings);
const SIZE_MB = Number(values['size-mb']);
const CONCURRENCY = Number(values.concurrency);
const KINDS = values.targets.split(',').map((kind) => kind.trim());
if (!Number.isInteger(RECORDINGS) || RECORDINGS < 1) throw new Error('--recordings must be a positive integer');
if (!(SIZE_MB > 0)) throw new Error('--size-mb must be positive');
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1 || CONCURRENCY > 64) throw new Error('--concurrency: 1..64');
for (const kind of KINDS) {
  if (!(TARGET_KINDS as readonly string[]).includes(kind)) throw new Error(`--targets: unknown ${kind}`);
}

/** Writes a 44-byte-header PCM WAV (16 kHz 16-bit stereo) of random samples, `bytes` long in all. */
async function writeRandomWav(path: string, bytes: number): Promise<void> {
  const dataBytes = Math.max(0, bytes - 44);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(16_000 * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.write(header);
    for (let written = 0; written < dataBytes;) {
      const block = randomBytes(Math.min(1 << 20, dataBytes - written));
      await handle.write(block);
      written += block.length;
    }
  } finally {
    await handle.close();
  }
}

interface SpoolRecording extends Omit<ArchiveRecording, 'targets'> {
  readonly bytes: number;
  readonly files: number;
}

/** N sealed recordings in `spool/<id>/`, as the recorder leaves them. */
async function buildSpool(spool: string, signer: RecordingSigner): Promise<SpoolRecording[]> {
  const recordings: SpoolRecording[] = [];
  for (let i = 0; i < RECORDINGS; i++) {
    const id = randomUUID();
    const dir = join(spool, id);
    await mkdir(dir, { recursive: true });
    await writeRandomWav(join(dir, `${id}.wav`), Math.round(SIZE_MB * 1e6));
    const start = new Date();
    await sealRecording({
      dir,
      id,
      audioFiles: [`${id}.wav`],
      metadata: {
        id,
        profile: 'bench',
        start: start.toISOString(),
        answer: start.toISOString(),
        channels: 'both-stereo',
      },
      signer,
    });
    let bytes = 0;
    const names = await readdir(dir);
    for (const name of names) bytes += (await stat(join(dir, name))).size;
    recordings.push({ id, dir, start, profile: 'bench', bytes, files: names.length });
  }
  return recordings;
}

/** Every file below `root` with its size. */
async function walk(root: string): Promise<Array<{ path: string; size: number }>> {
  const found: Array<{ path: string; size: number }> = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else found.push({ path: relative(root, path), size: (await stat(path)).size });
    }
  };
  await visit(root);
  return found;
}

interface Measured {
  readonly kind: TargetKind;
  readonly seconds: number;
  readonly bytes: number;
  readonly failedAttempts: number;
  readonly onDisk: string;
}

/** Runs one UploadQueue with `target` over all recordings; resolves when every one is delivered. */
async function measure(
  kind: TargetKind,
  target: ArchiveTarget,
  diskRoot: string,
  recordings: readonly SpoolRecording[],
  work: string,
): Promise<Measured> {
  const db = await openDatabase(join(work, `queue-${kind}.db`));
  let delivered = 0;
  let failedAttempts = 0;
  let lastError = '';
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const queue = new UploadQueue({
    targets: [target],
    store: new SqliteUploadStore(db),
    intervalSeconds: 1,
    maxBackoffSeconds: 2,
    concurrency: CONCURRENCY,
    keepLocal: true, // the same spool serves every target
    timeZone: 'UTC',
    onDelivered: () => {
      delivered += 1;
      if (delivered === recordings.length) resolveAll();
    },
    onAttemptFailed: (event) => {
      failedAttempts += 1;
      lastError = `${event.error.code}: ${event.error.message}`;
    },
  });
  try {
    await queue.start();
    const started = performance.now();
    for (const recording of recordings) {
      await queue.enqueue({ ...recording, targets: [{ targetId: target.id, folder: FOLDER }] });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`${kind}: ${delivered} of ${recordings.length} delivered after 10 minutes; ${lastError}`)),
        600_000,
      );
    });
    await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
    const seconds = (performance.now() - started) / 1000;
    await queue.stop();
    const files = await walk(diskRoot);
    const partials = files.filter((file) => file.path.endsWith('.callrec-partial')).length;
    const expectedFiles = recordings.reduce((sum, r) => sum + r.files, 0);
    const bytes = recordings.reduce((sum, r) => sum + r.bytes, 0);
    const onDiskBytes = files.reduce((sum, file) => sum + file.size, 0);
    const complete = files.length === expectedFiles && partials === 0 && onDiskBytes === bytes;
    const onDisk = `${files.length}/${expectedFiles} files, ${partials} partial${complete ? '' : ' — MISMATCH'}`;
    return { kind, seconds, bytes, failedAttempts, onDisk };
  } finally {
    await queue.stop();
    await target.close();
    await db.close();
  }
}

function table(rows: readonly Measured[]): string {
  const header = ['target', 'recordings', 'MB', 'seconds', 'MB/s', 'recordings/s', 'failed attempts', 'on the server'];
  const lines = rows.map((row) => [
    row.kind,
    String(RECORDINGS),
    (row.bytes / 1e6).toFixed(1),
    row.seconds.toFixed(2),
    (row.bytes / 1e6 / row.seconds).toFixed(1),
    (RECORDINGS / row.seconds).toFixed(2),
    String(row.failedAttempts),
    row.onDisk,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

/** The first line a tool prints about its version (some print it on stderr). */
function version(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0] || `${command}: unknown version`;
}

const work = await mkdtemp(join(tmpdir(), 'callrec-bench-archive-'));
let samba: SambaServer | undefined;
let sshd: SshdServer | undefined;
try {
  console.log(
    `archive upload benchmark: ${RECORDINGS} recordings × ${SIZE_MB} MB audio, concurrency ${CONCURRENCY} per target; ` +
      `node ${process.version}, ${cpus().length} CPU(s); smbclient ${version('smbclient', ['--version'])}; ${version('ssh', ['-V'])}`,
  );
  const keystore = await openKeyStore({ dataDir: join(work, 'data'), password: 'bench-only' });
  const building = performance.now();
  const recordings = await buildSpool(join(work, 'spool'), keystore);
  const totalMb = recordings.reduce((sum, r) => sum + r.bytes, 0) / 1e6;
  console.log(
    `built and sealed ${RECORDINGS} recordings (${totalMb.toFixed(1)} MB) in ${((performance.now() - building) / 1000).toFixed(1)} s`,
  );

  const results: Measured[] = [];
  for (const kind of KINDS as TargetKind[]) {
    if (kind === 'local') {
      const root = join(work, 'local-target');
      await mkdir(root);
      results.push(await measure(kind, new LocalTarget({ id: 'local', root }), root, recordings, work));
      await rm(root, { recursive: true, force: true });
    } else if (kind === 'smb') {
      const reason = sambaSkipReason();
      if (reason !== undefined) {
        console.log(`smb: skipped (${reason})`);
        continue;
      }
      samba = await startSamba();
      const target = new SmbTarget({
        id: 'nas',
        host: samba.host,
        port: samba.port,
        share: samba.share,
        domain: samba.domain,
        username: samba.username,
        password: samba.password,
      });
      results.push(await measure(kind, target, samba.dir, recordings, work));
      await samba.stop();
      samba = undefined;
    } else {
      const reason = sshdSkipReason();
      if (reason !== undefined) {
        console.log(`sftp: skipped (${reason})`);
        continue;
      }
      sshd = await startSshd();
      const user = sshd.users.password;
      const target = new SftpTarget({
        id: 'sftp',
        host: sshd.host,
        port: sshd.port,
        username: user.username,
        password: user.password,
        hostKey: sshd.hostKeyFingerprint,
      });
      results.push(await measure(kind, target, user.home, recordings, work));
      await sshd.stop();
      sshd = undefined;
    }
    const last = results[results.length - 1];
    if (last !== undefined) console.log(`${last.kind}: done in ${last.seconds.toFixed(2)} s`);
  }
  console.log('');
  console.log(
    'wall time from enqueueing until every recording is delivered (upload to a temporary name, rename, read back, SHA-256 checked):',
  );
  console.log(table(results));
} finally {
  await samba?.stop();
  await sshd?.stop();
  await rm(work, { recursive: true, force: true });
}
