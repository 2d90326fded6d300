/** Shared fixtures for the keystore tests: a temp root, one shared keystore and openssl helpers. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { KEYSTORE_FILE, openKeyStore, type KeyStore } from '../../../src/integrity/key-store.js';

export const PASSWORD = 'correct horse battery staple';

export let root: string;
let counter = 0;
/** One keystore created in `before`; tests that change it work on a copy. */
export let shared: { dataDir: string; keyStore: KeyStore };

export function openssl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', input });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function mustOpenssl(args: string[]): string {
  const result = openssl(args);
  assert.equal(result.status, 0, `openssl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export async function freshDir(name: string): Promise<string> {
  const dir = join(root, `${++counter}-${name}`);
  await mkdir(dir);
  return dir;
}

/** A data dir holding a copy of the shared keystore. */
export async function copyOfShared(): Promise<string> {
  const dataDir = await freshDir('copy');
  await copyFile(join(shared.dataDir, KEYSTORE_FILE), join(dataDir, KEYSTORE_FILE));
  return dataDir;
}

export async function write(name: string, content: string | Buffer): Promise<string> {
  const file = join(root, `${++counter}-${name}`);
  await writeFile(file, content);
  return file;
}

/** A throwaway CA made with openssl: key + self-signed CA certificate. */
export async function makeCa(
  name: string,
  keyArgs: string[] = ['-newkey', 'rsa:2048'],
): Promise<{ key: string; cert: string }> {
  const key = join(root, `${++counter}-${name}.key`);
  const cert = join(root, `${counter}-${name}.pem`);
  mustOpenssl([
    'req',
    '-x509',
    ...keyArgs,
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    `/O=Test/CN=${name}`,
    '-days',
    '3650',
  ]);
  return { key, cert };
}

/** Our CSR signed by `ca` with `openssl x509 -req`, PEM. */
export async function signCsr(keyStore: KeyStore, ca: { key: string; cert: string }, days = 3650): Promise<string> {
  const csr = await write('request.csr', keyStore.createCsr());
  const out = join(root, `${++counter}-signed.pem`);
  mustOpenssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    String(days),
    '-out',
    out,
  ]);
  return readFile(out, 'utf8');
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected AppError ${code}, but it resolved`);
}

/** A fresh path under the temp root. */
export function tempPath(name: string): string {
  return join(root, `${++counter}-${name}`);
}

/**
 * Before the file's tests: creates the temp `root` and, with `sharedKeyStore`, the `shared` keystore in it
 * (one hook, so the keystore never runs ahead of its root); removes the root after them.
 */
export function useTempRoot(options: { sharedKeyStore?: boolean } = {}): void {
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'callrec-key-store-'));
    if (options.sharedKeyStore !== true) return;
    const dataDir = join(root, 'shared', 'data');
    shared = { dataDir, keyStore: await openKeyStore({ dataDir, password: PASSWORD }) };
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
}
