/** Shared fixtures for the integrity tool tests: a throwaway signer, synthetic sealed recordings, tool runners. */
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { runVerifyCommand } from '../../src/cli/commands/verify.js';
import { Ledger, sealRecording, type RecordingSigner } from '../../src/integrity/index.js';
import { openDatabase, SqliteLedgerStore, type SqliteDatabase } from '../../src/store/index.js';
import { repoRoot } from '../support/paths.js';

export const run = promisify(execFile);
export const VERIFY_SH = join(repoRoot, 'bin', 'verify.sh');

/** A throwaway installation key: node:crypto RSA key + `openssl req -x509` self-signed certificate. */
export function makeSigner(installationId: string): RecordingSigner {
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

/** A mono 16-bit 8 kHz WAV with a valid RIFF header. */
export function wav(samples: number, seed: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((i + seed) / 5)), i * 2);
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

/** Runs a command; resolves with its exit code and output instead of rejecting on a non-zero exit. */
export async function tool(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    const { stdout, stderr } = await run(file, args, { ...options, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === 'number' ? failure.code : -1,
      stdout: failure.stdout ?? '',
      stderr: failure.stderr ?? '',
    };
  }
}

export async function callrecVerify(dir: string, cert: string): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await runVerifyCommand(
    dir,
    { cert },
    { log: (line) => lines.push(line), error: (line) => lines.push(line) },
  );
  return { code, output: lines.join('\n') };
}

export let root: string;
export let signer: RecordingSigner;
export let certPath: string;
export let good: string;
let counter = 0;
export const ID = 'rec-20240301-101500-0001';
const databases: SqliteDatabase[] = [];

export async function newLedger(): Promise<Ledger> {
  const dataDir = join(root, `data-${++counter}`);
  const db = await openDatabase(join(dataDir, 'callrec.db'));
  databases.push(db);
  return new Ledger({ store: new SqliteLedgerStore(db), checkpointDir: join(dataDir, 'ledger') });
}

/** Writes a synthetic both-separate recording (metadata + caller/callee WAVs) and seals it. */
export async function recording(dir: string, id: string, options: { ledger?: Ledger; signed?: boolean } = {}) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${id}-caller.wav`), wav(4000, id.length));
  await writeFile(join(dir, `${id}-callee.wav`), wav(4000, id.length + 3));
  return sealRecording({
    dir,
    id,
    audioFiles: [`${id}-caller.wav`, `${id}-callee.wav`],
    metadata: { id, profile: 'compliance', direction: 'outbound', caller: '+4930123456', callee: '+4940111222' },
    ...(options.signed === false ? {} : { signer }),
    ...(options.ledger === undefined ? {} : { ledger: options.ledger }),
  });
}

/** A copy of the good folder to tamper with. */
export async function copyOfGood(): Promise<string> {
  const dir = join(root, `tampered-${++counter}`);
  await cp(good, dir, { recursive: true });
  return dir;
}

/** Before the file's tests: the temp `root`, the `signer` and its certificate at `certPath`, and the sealed `good` folder. */
export function useSealedFolder(): void {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'callrec-integrity-tools-'));
    signer = makeSigner('7d4c2f1e-install');
    certPath = join(root, 'cert.pem');
    await writeFile(certPath, signer.certificatePem);
    good = join(root, 'good');
    await recording(good, ID, { ledger: await newLedger() });
  });

  after(async () => {
    await Promise.all(databases.map((db) => db.close()));
    await rm(root, { recursive: true, force: true });
  });
}
