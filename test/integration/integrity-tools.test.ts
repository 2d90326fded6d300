/**
 * Issue 6 "Done when", checked with the real tools a compliance officer has, not our code:
 *  - `shasum -a 256 -c <id>.sha256` (and `sha256sum -c`) pass in a produced recording folder;
 *  - `openssl dgst -sha256 -verify <public key of the certificate>` says `Verified OK`;
 *  - `callrec verify` (runVerifyCommand) and `bin/verify.sh` accept the good folder and reject a
 *    flipped byte in a WAV, a rewritten checksum file, a signature from another installation's
 *    key, a missing file and an extra file;
 *  - a chain of three recordings with the middle one deleted is reported as a missing recording;
 *  - `signing: false` produces neither checksum nor signature;
 *  - RFC 3161: a local TSA (`openssl ts -reply`) time-stamps the checksum file, and
 *    `openssl ts -verify` accepts the stored `<id>.sha256.tsr`.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runVerifyCommand } from '../../src/cli/commands/verify.js';
import {
  checksumFileText,
  Ledger,
  parseChecksumFile,
  Rfc3161TimestampClient,
  sealRecording,
  sha256File,
  signatureFileText,
  verifyFolder,
  type RecordingSigner,
} from '../../src/integrity/index.js';
import { openDatabase, SqliteLedgerStore, type SqliteDatabase } from '../../src/store/index.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const VERIFY_SH = join(repoRoot, 'bin', 'verify.sh');

/** A throwaway installation key: node:crypto RSA key + `openssl req -x509` self-signed certificate. */
function makeSigner(installationId: string): RecordingSigner {
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
function wav(samples: number, seed: number): Buffer {
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
async function tool(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
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

async function callrecVerify(dir: string, cert: string): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  const code = await runVerifyCommand(
    dir,
    { cert },
    { log: (line) => lines.push(line), error: (line) => lines.push(line) },
  );
  return { code, output: lines.join('\n') };
}

let root: string;
let signer: RecordingSigner;
let certPath: string;
let good: string;
let counter = 0;
const ID = 'rec-20240301-101500-0001';
const databases: SqliteDatabase[] = [];

async function newLedger(): Promise<Ledger> {
  const dataDir = join(root, `data-${++counter}`);
  const db = await openDatabase(join(dataDir, 'callrec.db'));
  databases.push(db);
  return new Ledger({ store: new SqliteLedgerStore(db), checkpointDir: join(dataDir, 'ledger') });
}

/** Writes a synthetic both-separate recording (metadata + caller/callee WAVs) and seals it. */
async function recording(dir: string, id: string, options: { ledger?: Ledger; signed?: boolean } = {}) {
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
async function copyOfGood(): Promise<string> {
  const dir = join(root, `tampered-${++counter}`);
  await cp(good, dir, { recursive: true });
  return dir;
}

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

describe('a sealed recording folder, checked with standard tools', () => {
  it('passes `shasum -a 256 -c` and `sha256sum -c`', async () => {
    const shasum = await tool('shasum', ['-a', '256', '-c', `${ID}.sha256`], { cwd: good });
    assert.equal(shasum.code, 0, shasum.stdout + shasum.stderr);
    assert.deepEqual(shasum.stdout.trim().split('\n'), [
      `${ID}.json: OK`,
      `${ID}-caller.wav: OK`,
      `${ID}-callee.wav: OK`,
    ]);
    assert.equal((await tool('sha256sum', ['-c', `${ID}.sha256`], { cwd: good })).code, 0);
  });

  it("verifies with `openssl dgst -sha256 -verify` and the certificate's public key: Verified OK", async () => {
    const work = await mkdtemp(join(root, 'openssl-'));
    await writeFile(
      join(work, 'pub.pem'),
      (await tool('openssl', ['x509', '-in', certPath, '-pubkey', '-noout'])).stdout,
    );
    const decoded = await run('base64', ['-d', join(good, `${ID}.sha256.SHA256withRSA.sig`)], { encoding: 'buffer' });
    await writeFile(join(work, 'sig.bin'), decoded.stdout);
    const verified = await tool('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      join(work, 'pub.pem'),
      '-signature',
      join(work, 'sig.bin'),
      join(good, `${ID}.sha256`),
    ]);
    assert.equal(verified.stdout.trim(), 'Verified OK');
    assert.equal(verified.code, 0);
  });

  it('is accepted by callrec verify (exit 0) and bin/verify.sh (exit 0)', async () => {
    const ours = await callrecVerify(good, certPath);
    assert.equal(ours.code, 0, ours.output);
    assert.match(ours.output, new RegExp(`^OK ${ID}: 3 files match, signature valid$`, 'm'));
    const script = await tool(VERIFY_SH, [good, certPath]);
    assert.equal(script.code, 0, script.stdout + script.stderr);
    assert.match(script.stdout, new RegExp(`^OK ${ID}$`, 'm'));
  });
});

describe('tampering is rejected by callrec verify and bin/verify.sh', () => {
  const cases: Record<string, { mutate: (dir: string) => Promise<void>; ours: RegExp; script: RegExp }> = {
    'a flipped byte in a WAV': {
      mutate: async (dir) => {
        const path = join(dir, `${ID}-caller.wav`);
        const data = await readFile(path);
        data[1000] = (data[1000] ?? 0) ^ 0x01;
        await writeFile(path, data);
      },
      ours: /-caller\.wav does not match its checksum/,
      script: /-caller\.wav does not match its checksum/,
    },
    'a rewritten checksum file (hashes recomputed after changing a file)': {
      mutate: async (dir) => {
        const audio = join(dir, `${ID}-callee.wav`);
        const data = await readFile(audio);
        data.fill(0, 44, 1044); // silence a stretch of the conversation
        await writeFile(audio, data);
        const parsed = parseChecksumFile(await readFile(join(dir, `${ID}.sha256`), 'utf8'));
        assert.ok(parsed.ok);
        const entries = await Promise.all(
          parsed.entries.map(async (entry) => ({
            name: entry.name,
            sha256Hex: (await sha256File(join(dir, entry.name))).sha256Hex,
          })),
        );
        await writeFile(join(dir, `${ID}.sha256`), checksumFileText(entries));
        const recheck = await tool('shasum', ['-a', '256', '-c', `${ID}.sha256`], { cwd: dir });
        assert.equal(recheck.code, 0, 'the forged checksum file is self-consistent');
      },
      ours: /signature does not verify/,
      script: /signature does not verify/,
    },
    "a signature from another installation's key": {
      mutate: async (dir) => {
        const other = makeSigner('another-installation');
        const checksum = await readFile(join(dir, `${ID}.sha256`));
        await writeFile(join(dir, `${ID}.sha256.SHA256withRSA.sig`), signatureFileText(other.sign(checksum)));
      },
      ours: /signature does not verify/,
      script: /signature does not verify/,
    },
    'a missing file': {
      mutate: (dir) => unlink(join(dir, `${ID}-callee.wav`)),
      ours: /-callee\.wav is missing/,
      script: /-callee\.wav is missing/,
    },
    'an extra file': {
      mutate: (dir) => writeFile(join(dir, `${ID}-callee-2.wav`), wav(100, 9)),
      ours: /extra file .*-callee-2\.wav/,
      script: /extra file .*-callee-2\.wav/,
    },
    'a missing signature file': {
      mutate: (dir) => unlink(join(dir, `${ID}.sha256.SHA256withRSA.sig`)),
      ours: /no signature file/,
      script: /no signature file/,
    },
    'a checksum file listing a path outside the folder': {
      mutate: async (dir) => {
        await writeFile(join(dir, `${ID}.sha256`), `${'0'.repeat(64)}  ../${ID}.json\n`);
      },
      ours: /not in 'shasum|is not "<sha256-hex>|name "\.\.\//,
      script: /is not in shasum -a 256 form/,
    },
  };

  for (const [what, { mutate, ours, script }] of Object.entries(cases)) {
    it(`rejects ${what}`, async () => {
      const dir = await copyOfGood();
      await mutate(dir);
      const verdict = await callrecVerify(dir, certPath);
      assert.equal(verdict.code, 1, verdict.output);
      assert.match(verdict.output, new RegExp(`^FAIL ${ID}: .*${ours.source}`, 'm'));
      const shell = await tool(VERIFY_SH, [dir, certPath]);
      assert.equal(shell.code, 1, shell.stdout + shell.stderr);
      assert.match(shell.stdout, new RegExp(`^FAIL ${ID}: .*${script.source}`, 'm'));
    });
  }

  it('reports audio whose checksum and signature files were removed', async () => {
    const dir = await copyOfGood();
    await unlink(join(dir, `${ID}.sha256`));
    await unlink(join(dir, `${ID}.sha256.SHA256withRSA.sig`));
    await recording(dir, 'rec-other');
    const verdict = await callrecVerify(dir, certPath);
    assert.equal(verdict.code, 1);
    assert.match(verdict.output, new RegExp(`^FAIL ${ID}: .*not covered by any checksum file`, 'm'));
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 1);
    assert.match(shell.stdout, new RegExp(`^FAIL ${ID}-caller\\.wav: not covered by any checksum file`, 'm'));
    assert.match(shell.stdout, /^OK rec-other$/m);
  });
});

describe('the chain', () => {
  it('reveals a recording removed from the middle of three', async () => {
    const dir = join(root, 'chain');
    const ledger = await newLedger();
    const ids = ['chain-a', 'chain-b', 'chain-c'];
    for (const id of ids) await recording(dir, id, { ledger });
    const intact = await callrecVerify(dir, certPath);
    assert.equal(intact.code, 0, intact.output);
    assert.match(intact.output, /^OK chain 7d4c2f1e-install: sequences 1\.\.3 linked$/m);

    for (const name of await readdir(dir)) if (name.startsWith('chain-b')) await unlink(join(dir, name));
    const removed = await callrecVerify(dir, certPath);
    assert.equal(removed.code, 1, removed.output);
    assert.match(
      removed.output,
      /^FAIL chain 7d4c2f1e-install: recording 2 missing from this folder \(between chain-a and chain-c\)$/m,
    );
    assert.match(removed.output, /^OK chain-a: /m);
    assert.match(removed.output, /^OK chain-c: /m);
  });
});

describe('signing: false', () => {
  it('produces neither checksum nor signature', async () => {
    const dir = join(root, 'unsigned');
    const summary = await recording(dir, 'plain', { signed: false });
    assert.equal(summary.signed, false);
    assert.deepEqual((await readdir(dir)).sort(), ['plain-callee.wav', 'plain-caller.wav', 'plain.json']);
  });
});

describe('bin/verify.sh', () => {
  it('exits 2 for usage errors, a missing folder and a file that is no certificate', async () => {
    assert.equal((await tool(VERIFY_SH, [])).code, 2);
    assert.equal((await tool(VERIFY_SH, [join(root, 'nowhere'), certPath])).code, 2);
    assert.equal((await tool(VERIFY_SH, [good, join(root, 'missing.pem')])).code, 2);
    const junk = join(root, 'junk.pem');
    await writeFile(junk, 'junk');
    assert.equal((await tool(VERIFY_SH, [good, junk])).code, 2);
  });

  const toolsets: Record<string, string[]> = {
    'only sha256sum and openssl base64 (no shasum, no base64)': ['sha256sum'],
    'only shasum and base64 (no sha256sum)': ['shasum', 'base64'],
  };
  for (const [what, extra] of Object.entries(toolsets)) {
    it(`works with ${what}, and leaves no temp files`, async () => {
      const bin = await mkdtemp(join(root, 'minimal-bin-'));
      const common = ['sh', 'awk', 'sed', 'grep', 'tail', 'tr', 'mktemp', 'rm', 'cat', 'openssl'];
      for (const name of [...common, ...extra]) {
        const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
        await symlink(path, join(bin, name));
      }
      const tmp = await mkdtemp(join(root, 'tmpdir-'));
      const env = { PATH: bin, TMPDIR: tmp };
      const ok = await tool(join(bin, 'sh'), [VERIFY_SH, good, certPath], { env });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const bad = await copyOfGood();
      const wavPath = join(bad, `${ID}-callee.wav`);
      const data = await readFile(wavPath);
      data[50] = (data[50] ?? 0) ^ 0x80;
      await writeFile(wavPath, data);
      await writeFile(
        join(bad, `${ID}.sha256.SHA256withRSA.sig`),
        signatureFileText(makeSigner('x').sign(Buffer.from('y'))),
      );
      const failed = await tool(join(bin, 'sh'), [VERIFY_SH, bad, certPath], { env });
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(failed.stdout, /-callee\.wav does not match its checksum .*; signature does not verify/);
      assert.deepEqual(await readdir(tmp), [], 'mktemp -d folder removed by the trap');
    });
  }

  it('checks signed ledger checkpoints in the folder', async () => {
    const dir = await copyOfGood();
    const ledger = await newLedger();
    await recording(dir, 'cp-1', { ledger });
    const checkpoint = await ledger.checkpoint(signer);
    await cp(checkpoint.path, join(dir, checkpoint.fileName));
    await cp(checkpoint.signaturePath, join(dir, `${checkpoint.fileName}.SHA256withRSA.sig`));
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 0, shell.stdout + shell.stderr);
    assert.match(shell.stdout, /^OK checkpoint-1\.json: signature valid \(chain head 1\)$/m);
    await writeFile(
      join(dir, checkpoint.fileName),
      (await readFile(join(dir, checkpoint.fileName), 'utf8')).replace('"sequence": 1', '"sequence": 0'),
    );
    assert.equal((await tool(VERIFY_SH, [dir, certPath])).code, 1);
  });
});

describe('RFC 3161 time-stamps from a local TSA (openssl ts -reply)', () => {
  let tsaDir: string;
  let server: Server;
  let url: string;
  let requests = 0;

  before(async () => {
    tsaDir = await mkdtemp(join(root, 'tsa-'));
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(tsaDir, 'tsa.key'),
      '-out',
      join(tsaDir, 'tsa.pem'),
      '-subj',
      '/CN=callrec test TSA',
      '-days',
      '2',
      '-addext',
      'extendedKeyUsage=critical,timeStamping',
    ]);
    await writeFile(join(tsaDir, 'serial'), '01\n');
    await writeFile(
      join(tsaDir, 'ts.cnf'),
      [
        '[ tsa ]',
        'default_tsa = tsa_config',
        '[ tsa_config ]',
        `dir = ${tsaDir}`,
        'serial = $dir/serial',
        'crypto_device = builtin',
        'signer_cert = $dir/tsa.pem',
        'signer_key = $dir/tsa.key',
        'signer_digest = sha256',
        'default_policy = 1.2.3.4.1',
        'other_policies = 1.2.3.4.5',
        'digests = sha256',
        'accuracy = secs:1',
        'ordering = no',
        'tsa_name = yes',
        'ess_cert_id_chain = no',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const n = ++requests;
        const query = join(tsaDir, `q${n}.tsq`);
        const reply = join(tsaDir, `r${n}.tsr`);
        writeFile(query, Buffer.concat(chunks))
          .then(() =>
            run('openssl', ['ts', '-reply', '-config', join(tsaDir, 'ts.cnf'), '-queryfile', query, '-out', reply]),
          )
          .then(() => readFile(reply))
          .then((body) => {
            response.writeHead(200, { 'content-type': 'application/timestamp-reply' });
            response.end(body);
          })
          .catch(() => {
            response.writeHead(500);
            response.end();
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('stores <id>.sha256.tsr that `openssl ts -verify` accepts for the checksum file', async () => {
    const dir = join(root, 'stamped');
    await mkdir(dir);
    await writeFile(join(dir, 'ts-1-caller.wav'), wav(1000, 1));
    const summary = await sealRecording({
      dir,
      id: 'ts-1',
      audioFiles: ['ts-1-caller.wav'],
      metadata: { id: 'ts-1' },
      signer,
      ledger: await newLedger(),
      timestamp: new Rfc3161TimestampClient({ url }),
    });
    assert.equal(
      summary.timestamp?.ok,
      true,
      String(summary.timestamp?.ok === false && summary.timestamp.error.message),
    );
    const verified = await tool('openssl', [
      'ts',
      '-verify',
      '-data',
      join(dir, 'ts-1.sha256'),
      '-in',
      join(dir, 'ts-1.sha256.tsr'),
      '-CAfile',
      join(tsaDir, 'tsa.pem'),
    ]);
    assert.match(verified.stdout, /Verification: OK/, verified.stdout + verified.stderr);

    const ours = await callrecVerify(dir, certPath);
    assert.equal(ours.code, 0, ours.output);
    assert.match(ours.output, /^OK ts-1: 2 files match, signature valid, time-stamped \d{4}-\d{2}-\d{2}T/m);
    const shell = await tool(VERIFY_SH, [dir, certPath]);
    assert.equal(shell.code, 0, shell.stdout);

    // A token about another checksum file is caught.
    await sealRecording({
      dir,
      id: 'ts-2',
      audioFiles: [],
      metadata: {},
      signer,
      timestamp: new Rfc3161TimestampClient({ url }),
    });
    await cp(join(dir, 'ts-2.sha256.tsr'), join(dir, 'ts-1.sha256.tsr'));
    const swapped = await verifyFolder(dir, { certificatePem: signer.certificatePem });
    assert.match(
      swapped.recordings.find((r) => r.id === 'ts-1')?.problems.join() ?? '',
      /time-stamps another checksum file/,
    );
  });

  it('reports an unreachable TSA without failing the seal', async () => {
    const dir = join(root, 'no-tsa');
    await mkdir(dir);
    await writeFile(join(dir, 'nt.wav'), wav(10, 1));
    const summary = await sealRecording({
      dir,
      id: 'nt',
      audioFiles: ['nt.wav'],
      metadata: {},
      signer,
      timestamp: new Rfc3161TimestampClient({ url: 'http://127.0.0.1:9/tsa', timeoutMs: 2000 }),
    });
    assert.equal(summary.signed, true);
    assert.equal(summary.timestamp?.ok, false);
    assert.equal(summary.timestamp?.ok === false && summary.timestamp.error.code, 'INTEGRITY_TIMESTAMP');
  });
});
