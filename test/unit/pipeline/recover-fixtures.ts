/** Crashed recordings for the crash-recovery tests: a database with catalogue and call rows, crafted WAVs. */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import type { CallrecConfig } from '../../../src/config/index.js';
import { Ledger, type RecordingSigner } from '../../../src/integrity/index.js';
import { buildWavHeader, type WavFormat } from '../../../src/recorder/index.js';
import {
  openDatabase,
  SqliteAuditLog,
  SqliteCallStore,
  SqliteLedgerStore,
  SqliteRecordingStore,
  type SqliteDatabase,
} from '../../../src/store/index.js';

/** A throwaway installation key: node:crypto RSA key + `openssl req -x509` self-signed certificate. */
export function makeSigner(installationId = 'recover-test'): RecordingSigner {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyDir = mkdtempSync(join(tmpdir(), 'callrec-key-'));
  try {
    const keyPath = join(keyDir, 'key.pem');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const certificatePem = execFileSync(
      'openssl',
      ['req', '-x509', '-new', '-key', keyPath, '-subj', `/CN=callrec ${installationId}`, '-days', '2', '-sha256'],
      { encoding: 'utf8' },
    );
    return { sign: (data) => sign('sha256', data, privateKey), certificatePem, chainPem: [], installationId };
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}

/** PCM16 little-endian bytes of a sine tone. */
export function toneBytes(frames: number, sampleRate = 8000, frequencyHz = 440, channels = 1): Buffer {
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const value = Math.round(8000 * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRate));
    for (let c = 0; c < channels; c++) data.writeInt16LE(value, (i * channels + c) * 2);
  }
  return data;
}

/** How a crashed WAV's header looks. */
export interface CrashedWavOptions {
  readonly sampleRate?: number;
  readonly channels?: number;
  readonly format?: WavFormat;
  /** Data bytes the header declares (the last patch before the crash). @default 0 (never patched) */
  readonly declaredBytes?: number;
  /** Write the RF64 form of the header. @default false */
  readonly rf64?: boolean;
}

/** A WAV as WavWriter leaves it when the process dies: header from its last patch, then `data`. */
export function crashedWav(data: Buffer, options: CrashedWavOptions = {}): Buffer {
  const header = buildWavHeader({
    format: options.format ?? 'pcm16',
    channels: options.channels ?? 1,
    sampleRate: options.sampleRate ?? 8000,
    dataBytes: options.declaredBytes ?? 0,
    ...(options.rf64 === undefined ? {} : { rf64: options.rf64 }),
  });
  return Buffer.concat([header, data]);
}

/** The database, stores and key a recovery runs with. */
export interface RecoveryBed {
  readonly root: string;
  readonly dataDir: string;
  readonly database: SqliteDatabase;
  readonly catalogue: SqliteRecordingStore;
  readonly calls: SqliteCallStore;
  readonly ledgerStore: SqliteLedgerStore;
  readonly ledger: Ledger;
  readonly audit: SqliteAuditLog;
  readonly signer: RecordingSigner;
  /** JSON log lines written through {@link logger}. */
  readonly lines: Array<Record<string, unknown>>;
  readonly logger: Logger;
  close(): Promise<void>;
}

export async function startRecoveryBed(signer: RecordingSigner): Promise<RecoveryBed> {
  const root = mkdtempSync(join(tmpdir(), 'callrec-recover-'));
  const dataDir = join(root, 'data');
  await mkdir(join(dataDir, 'recordings'), { recursive: true });
  const database = await openDatabase(join(dataDir, 'callrec.db'));
  const ledgerStore = new SqliteLedgerStore(database);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as never);
      done();
    },
  });
  return {
    root,
    dataDir,
    database,
    catalogue: new SqliteRecordingStore(database),
    calls: new SqliteCallStore(database),
    ledgerStore,
    ledger: new Ledger({ store: ledgerStore, checkpointDir: join(dataDir, 'ledger') }),
    audit: new SqliteAuditLog(database),
    signer,
    lines,
    logger: pino({ level: 'debug' }, sink),
    close: async () => {
      await database.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** What a crashed call left in the database: its calls row (unended) and its catalogue row. */
export interface CrashedCall {
  readonly id: string;
  readonly dir: string;
  /** The recording's start (the answer). */
  readonly start: Date;
}

/** Inserts a call and its recording as callrec writes them during a call; `files` go into its folder. */
export async function crashedCall(
  bed: RecoveryBed,
  options: {
    readonly profile?: string;
    readonly files?: Readonly<Record<string, Buffer>>;
    readonly start?: Date;
    /** Leaves the row `finalizing` with this end. */
    readonly finalizing?: { readonly at: Date; readonly reason: string };
    /** No folder at all. */
    readonly noDir?: boolean;
  } = {},
): Promise<CrashedCall> {
  const id = randomUUID();
  const start = options.start ?? new Date(Date.now() - 60_000);
  const dir = join(bed.dataDir, 'recordings', id);
  await bed.calls.recordCallStart({
    id,
    direction: 'inbound',
    callIdA: `a-${id}@trunk.example`,
    callIdB: `b-${id}@callrec`,
    caller: '+4940111222',
    callee: '+4930123456500',
    decisionProfile: options.profile ?? 'trading',
    decisionReason: 'profile "trading": inbound call to +4930123456500 of recorded group "trading"',
    startedAt: new Date(start.getTime() - 3000).toISOString(),
  });
  await bed.catalogue.register({
    id,
    dir,
    profile: options.profile ?? 'trading',
    direction: 'inbound',
    caller: null,
    callee: null,
    start: start.toISOString(),
    retentionDays: 30,
    statutory: false,
  });
  if (options.finalizing !== undefined)
    await bed.catalogue.markFinalizing(id, options.finalizing.at.toISOString(), options.finalizing.reason);
  if (options.noDir !== true) {
    await mkdir(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), bytes);
  }
  return { id, dir, start };
}

/** A config with profiles `trading` (both-stereo), `separate` (both-separate), `solo` (caller, unsigned) and a local target. */
export function recoveryConfig(archiveRoot: string): CallrecConfig {
  const profile = (id: string, channels: string, signing: boolean, targets: string[]): Record<string, unknown> => ({
    id,
    channels,
    signing,
    targets,
  });
  return {
    installation: { dataDir: '/unused' },
    uploads: { timezone: 'UTC' },
    profiles: [
      profile('trading', 'both-stereo', true, ['archive']),
      profile('separate', 'both-separate', true, []),
      profile('solo', 'caller', false, []),
    ],
    targets: [{ id: 'archive', type: 'local', path: join(archiveRoot, 'Record-$Y_$M_$D') }],
  } as unknown as CallrecConfig;
}
