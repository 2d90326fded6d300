// The OneDrive refresh token at rest (SPEC §6, issue 8): `<dataDir>/onedrive-<id>.token`, mode
// 0600, written atomically, JSON {v, iv, tag, data} (base64), AES-256-GCM with a key derived by
// HKDF-SHA256 from the installation key's deterministic PKCS#1 v1.5 signature of a fixed
// string — so the same keystore reopened decrypts it, another keystore does not, and any
// alteration is refused with ARCHIVE_AUTH. The token itself never appears in the file.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OneDriveTokenStore, oneDriveTokenFileName } from '../../../src/archive/targets/onedrive-token-store.js';
import { AppError } from '../../../src/errors.js';
import { openKeyStore, type KeyStore } from '../../../src/integrity/index.js';

const TOKEN = 'M.C5_BAY.0.U.-CjqAbcdefghijklmnopqrstuvwxyz0123456789!*refresh-token-secret';

let root: string;
let keyStore: KeyStore;
let otherKeyStore: KeyStore;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-onedrive-token-'));
  keyStore = await openKeyStore({ dataDir: join(root, 'keys-a'), password: 'pw-a' });
  otherKeyStore = await openKeyStore({ dataDir: join(root, 'keys-b'), password: 'pw-b' });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = join(root, `data-${++counter}`);
  await mkdir(dir);
  return dir;
}

function isArchiveAuth(error: unknown): boolean {
  return error instanceof AppError && error.code === 'ARCHIVE_AUTH' && !error.retriable;
}

describe('OneDriveTokenStore', () => {
  it('round-trips the refresh token and writes onedrive-<id>.token with mode 0600', async () => {
    const dataDir = await freshDir();
    const store = new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore });
    assert.equal(store.path, join(dataDir, 'onedrive-cloud.token'));
    assert.equal(oneDriveTokenFileName('cloud'), 'onedrive-cloud.token');
    await store.save(TOKEN);
    assert.equal(await store.load(), TOKEN);
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dataDir), ['onedrive-cloud.token'], 'no temporary file left behind');
  });

  it('stores JSON {v, iv, tag, data} without the token in plain text or plain base64', async () => {
    const dataDir = await freshDir();
    const store = new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore });
    await store.save(TOKEN);
    const text = await readFile(store.path, 'utf8');
    const file = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(file).sort(), ['data', 'iv', 'tag', 'v']);
    assert.equal(file.v, 1);
    assert.equal(Buffer.from(file.iv as string, 'base64').length, 12);
    assert.equal(Buffer.from(file.tag as string, 'base64').length, 16);
    assert.ok(!text.includes(TOKEN));
    assert.ok(!text.includes(Buffer.from(TOKEN).toString('base64').slice(0, 24)));
    assert.ok(!text.includes('refresh-token-secret'));
  });

  it('uses a fresh IV per save, and a new save replaces the old token', async () => {
    const dataDir = await freshDir();
    const store = new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore });
    await store.save(TOKEN);
    const first = JSON.parse(await readFile(store.path, 'utf8')) as { iv: string };
    await store.save('rotated-token');
    const second = JSON.parse(await readFile(store.path, 'utf8')) as { iv: string };
    assert.notEqual(first.iv, second.iv);
    assert.equal(await store.load(), 'rotated-token');
  });

  it('decrypts after the keystore is reopened (the derived key is stable)', async () => {
    const dataDir = await freshDir();
    await new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore }).save(TOKEN);
    const reopened = await openKeyStore({ dataDir: join(root, 'keys-a'), password: 'pw-a' });
    assert.equal(await new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: reopened }).load(), TOKEN);
  });

  it('is undefined when nothing was stored', async () => {
    const store = new OneDriveTokenStore({ dataDir: await freshDir(), targetId: 'cloud', signer: keyStore });
    assert.equal(await store.load(), undefined);
  });

  for (const field of ['data', 'tag', 'iv'] as const) {
    it(`refuses a file whose ${field} was altered with ARCHIVE_AUTH (not retriable)`, async () => {
      const dataDir = await freshDir();
      const store = new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore });
      await store.save(TOKEN);
      const file = JSON.parse(await readFile(store.path, 'utf8')) as Record<string, string>;
      const bytes = Buffer.from(file[field] as string, 'base64');
      bytes[0] = (bytes[0] as number) ^ 0x01;
      file[field] = bytes.toString('base64');
      await writeFile(store.path, JSON.stringify(file));
      await assert.rejects(store.load(), isArchiveAuth);
    });
  }

  it('refuses a file written with another installation key', async () => {
    const dataDir = await freshDir();
    await new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: otherKeyStore }).save(TOKEN);
    await assert.rejects(
      new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore }).load(),
      isArchiveAuth,
    );
  });

  it("refuses another target's file copied under this target's name", async () => {
    const dataDir = await freshDir();
    const a = new OneDriveTokenStore({ dataDir, targetId: 'a', signer: keyStore });
    const b = new OneDriveTokenStore({ dataDir, targetId: 'b', signer: keyStore });
    await a.save(TOKEN);
    await copyFile(a.path, b.path);
    await assert.rejects(b.load(), isArchiveAuth);
  });

  it('refuses a file that is not a token file, without echoing its content', async () => {
    const dataDir = await freshDir();
    const store = new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore });
    await writeFile(store.path, TOKEN);
    await assert.rejects(store.load(), (error: unknown) => isArchiveAuth(error) && !String(error).includes(TOKEN));
  });

  it('rejects target ids that could escape the data directory', () => {
    for (const targetId of ['../x', 'a/b', '.hidden', '']) {
      assert.throws(
        () => new OneDriveTokenStore({ dataDir: root, targetId, signer: keyStore }),
        (error: unknown) => error instanceof AppError && error.code === 'ARCHIVE_CONFIG',
      );
    }
  });

  it('clear() removes the file and is idempotent', async () => {
    const store = new OneDriveTokenStore({ dataDir: await freshDir(), targetId: 'cloud', signer: keyStore });
    await store.save(TOKEN);
    await store.clear();
    await store.clear();
    assert.equal(await store.load(), undefined);
  });
});
