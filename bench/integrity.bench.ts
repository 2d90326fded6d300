/**
 * `npm run bench:integrity`: checksum + sign throughput of `sealRecording` on a 1-hour stereo
 * 16-bit 16 kHz recording (~230 MB), generated here. Each run seals the recording under a new id
 * (metadata + checksum file + signature + ledger entry in sqlite). Target (issue 6): < 1 s.
 * The file was just written, as after a call, so it is read from the page cache.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ledger, sealRecording, type RecordingSigner } from '../src/integrity/index.js';
import { openDatabase, SqliteLedgerStore } from '../src/store/index.js';

const SECONDS = 3600;
const SAMPLE_RATE = 16_000;
const CHANNELS = 2;
const BYTES_PER_SAMPLE = 2;
const RUNS = 5;
const TARGET_SECONDS = 1;

/** Writes a canonical 44-byte-header PCM WAV of `seconds` of noise, streaming 1 MiB blocks. */
async function writeWav(path: string, seconds: number): Promise<number> {
  const dataBytes = seconds * SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(CHANNELS, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE, 28);
  header.writeUInt16LE(CHANNELS * BYTES_PER_SAMPLE, 32);
  header.writeUInt16LE(BYTES_PER_SAMPLE * 8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.write(header);
    const blocks = Array.from({ length: 8 }, () => randomBytes(1 << 20));
    for (let written = 0, i = 0; written < dataBytes; i++) {
      const block = blocks[i % blocks.length] as Buffer;
      const length = Math.min(block.length, dataBytes - written);
      await handle.write(block, 0, length);
      written += length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return 44 + dataBytes;
}

async function benchSigner(dir: string): Promise<RecordingSigner> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = join(dir, 'bench-key.pem');
  await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const certificatePem = execFileSync(
    'openssl',
    ['req', '-x509', '-new', '-key', keyPath, '-subj', '/CN=callrec bench', '-days', '1', '-sha256'],
    { encoding: 'utf8' },
  );
  return { sign: (data) => sign('sha256', data, privateKey), certificatePem, chainPem: [], installationId: 'bench' };
}

const dir = await mkdtemp(join(tmpdir(), 'callrec-bench-integrity-'));
try {
  const signer = await benchSigner(dir);
  const db = await openDatabase(join(dir, 'data', 'callrec.db'));
  const ledger = new Ledger({ store: new SqliteLedgerStore(db), checkpointDir: join(dir, 'data', 'ledger') });
  const spool = join(dir, 'spool');
  await mkdir(spool);
  let audio = join(spool, 'bench-0.wav');
  const generateStart = performance.now();
  const size = await writeWav(audio, SECONDS);
  const megabytes = size / 1e6;
  console.log(
    `generated 1-hour stereo 16-bit ${SAMPLE_RATE / 1000} kHz WAV: ${megabytes.toFixed(1)} MB in ${((performance.now() - generateStart) / 1000).toFixed(2)} s`,
  );

  const times: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const id = `bench-${run}`;
    const next = join(spool, `${id}.wav`);
    await rename(audio, next);
    audio = next;
    const start = performance.now();
    const summary = await sealRecording({
      dir: spool,
      id,
      audioFiles: [`${id}.wav`],
      metadata: { id, profile: 'bench', start: new Date().toISOString(), durationSeconds: SECONDS },
      signer,
      ledger,
    });
    const seconds = (performance.now() - start) / 1000;
    times.push(seconds);
    console.log(
      `run ${run}: sealed ${(summary.bytesHashed / 1e6).toFixed(1)} MB in ${seconds.toFixed(3)} s = ${(summary.bytesHashed / 1e6 / seconds).toFixed(0)} MB/s (chain #${summary.chain?.sequence})`,
    );
  }
  await db.close();
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const best = sorted[0] as number;
  console.log(
    `sealRecording (SHA-256 of metadata + audio, checksum file, RSA-2048 signature, ledger entry), ${megabytes.toFixed(1)} MB: ` +
      `median ${median.toFixed(3)} s (${(megabytes / median).toFixed(0)} MB/s), best ${best.toFixed(3)} s — ` +
      `target < ${TARGET_SECONDS} s: ${median < TARGET_SECONDS ? 'met' : 'MISSED'}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
