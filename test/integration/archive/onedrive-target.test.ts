// OneDrive archive target (SPEC §6; issue 8) against a local fake of Microsoft Graph that checks
// the request shapes Microsoft documents:
// - folders: each missing segment POSTed to the parent's children with `folder: {}` and
//   `@microsoft.graph.conflictBehavior: fail`; 409 nameAlreadyExists is fine;
// - upload: createUploadSession on the temporary name with `{"item": {conflictBehavior:
//   replace}}`, fragment PUTs to the uploadUrl with Content-Range, multiples of 320 KiB (but the
//   last), below 60 MiB, no Authorization header; resume from nextExpectedRanges after a failed
//   fragment; then PATCH the item's name with conflictBehavior=replace in the URL (DELETE + PATCH
//   where the service ignores it); no partial file ever under the final name;
// - read-back: GET /content → 302 → the download URL without Authorization, SHA-256 of the bytes;
// - 429/503 wait out Retry-After; a 401 refreshes the token once; invalid_grant is ARCHIVE_AUTH,
//   not retriable; delete of a missing file is fine; children are paged with @odata.nextLink.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { temporaryName } from '../../../src/archive/targets/archive-target.js';
import { OneDriveAuth, type OneDriveTokenSource } from '../../../src/archive/targets/onedrive-auth.js';
import { OneDriveTarget, UPLOAD_FRAGMENT_UNIT } from '../../../src/archive/targets/onedrive-target.js';
import type { RefreshTokenStore } from '../../../src/archive/targets/onedrive-token-store.js';
import { AppError } from '../../../src/errors.js';
import { FakeGraph, FRAGMENT_UNIT, type RecordedRequest } from '../../support/fake-graph.js';

const MB1 = 1_000_000;
const MB5 = 5 * 1024 * 1024;
const CHUNK = 2 * UPLOAD_FRAGMENT_UNIT;

let fake: FakeGraph;
let dir: string;
let files: { small: string; large: string; empty: string };
let sleeps: number[];

class MemoryStore implements RefreshTokenStore {
  constructor(public token: string | undefined) {}
  save(token: string): Promise<void> {
    this.token = token;
    return Promise.resolve();
  }
  load(): Promise<string | undefined> {
    return Promise.resolve(this.token);
  }
}

function appError(code: string, retriable: boolean): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code && error.retriable === retriable;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function tokens(): OneDriveAuth {
  const store = new MemoryStore(fake.issueRefreshToken());
  return new OneDriveAuth({ cloud: 'global', clientId: 'c', store, baseUrls: fake.baseUrls });
}

function target(options: { tokens?: OneDriveTokenSource; driveId?: string; maxRetryAfterMs?: number } = {}) {
  return new OneDriveTarget({
    id: 'cloud',
    cloud: 'global',
    tokens: options.tokens ?? tokens(),
    baseUrls: fake.baseUrls,
    chunkSize: CHUNK,
    driveId: options.driveId,
    maxRetryAfterMs: options.maxRetryAfterMs,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
}

/** Requests to Graph and its upload / download URLs since `mark` (token requests left out). */
function since(mark: number, filter: (r: RecordedRequest) => boolean = () => true): RecordedRequest[] {
  return fake.requests.slice(mark).filter((r) => !r.path.endsWith('/oauth2/v2.0/token') && filter(r));
}

const fragmentPuts = (r: RecordedRequest): boolean => r.method === 'PUT' && r.path.startsWith('/upload/');

before(async () => {
  fake = await FakeGraph.start({ pageSize: 3 });
  dir = await mkdtemp(join(tmpdir(), 'callrec-onedrive-target-'));
  files = { small: join(dir, 'small.wav'), large: join(dir, 'large.wav'), empty: join(dir, 'empty.json') };
  await writeFile(files.small, randomBytes(MB1));
  await writeFile(files.large, randomBytes(MB5));
  await writeFile(files.empty, '');
});

after(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  sleeps = [];
  assert.deepEqual(fake.violations, [], 'no documented rule broken by the previous test');
});

describe('OneDriveTarget folders', () => {
  it('creates nested folders segment by segment with conflictBehavior fail, then finds them', async () => {
    const t = target();
    const mark = fake.requests.length;
    await t.ensureFolder('Recordings/2024/05');
    assert.ok(fake.isFolder('Recordings/2024/05'));
    const posts = since(mark, (r) => r.method === 'POST');
    assert.deepEqual(
      posts.map((r) => r.path),
      [
        '/v1.0/me/drive/root/children',
        '/v1.0/me/drive/root:/Recordings:/children',
        '/v1.0/me/drive/root:/Recordings/2024:/children',
      ],
    );
    assert.deepEqual(posts[2]!.json, { name: '05', folder: {}, '@microsoft.graph.conflictBehavior': 'fail' });
    const again = fake.requests.length;
    await t.ensureFolder('Recordings/2024/05');
    assert.deepEqual(
      since(again).map((r) => `${r.method} ${r.path}`),
      ['GET /v1.0/me/drive/root:/Recordings/2024/05'],
    );
    await t.close();
  });

  it('treats 409 nameAlreadyExists as done, and refuses a file in the way (ARCHIVE_PATH)', async () => {
    fake.put('Existing', 'folder');
    fake.put('Blocked', Buffer.from('x'));
    const t = target();
    await t.ensureFolder('Existing/Child');
    assert.ok(fake.isFolder('Existing/Child'));
    await assert.rejects(t.ensureFolder('Blocked'), appError('ARCHIVE_PATH', false));
    await assert.rejects(t.ensureFolder('a/../b'), appError('ARCHIVE_PATH', false));
    await assert.rejects(t.upload(files.empty, 'ok', 'bad:name'), appError('ARCHIVE_PATH', false));
    await t.close();
  });
});

describe('OneDriveTarget upload', () => {
  for (const [label, file, size] of [
    ['1 MB', 'small', MB1],
    ['5 MB', 'large', MB5],
  ] as const) {
    it(`uploads ${label} in 320 KiB-multiple fragments to the temporary name, renames it and reads it back`, async () => {
      const t = target();
      const folder = `Rec/${file}`;
      await t.ensureFolder(folder);
      const mark = fake.requests.length;
      await t.upload(files[file], folder, `r-${label}.wav`);
      const session = since(mark, (r) => r.path.endsWith(':/createUploadSession'));
      assert.equal(session.length, 1);
      assert.equal(
        session[0]!.path,
        `/v1.0/me/drive/root:/${folder}/${encodeURIComponent(temporaryName(`r-${label}.wav`))}:/createUploadSession`,
      );
      assert.deepEqual(session[0]!.json, { item: { '@microsoft.graph.conflictBehavior': 'replace' } });
      const puts = since(mark, fragmentPuts);
      assert.equal(puts.length, Math.ceil(size / CHUNK));
      let next = 0;
      for (const [i, put] of puts.entries()) {
        assert.equal(put.headers.authorization, undefined, 'no Authorization on the upload URL');
        const end = Math.min(next + CHUNK, size) - 1;
        assert.equal(put.headers['content-range'], `bytes ${next}-${end}/${size}`);
        if (i < puts.length - 1) assert.equal(put.bodyLength % FRAGMENT_UNIT, 0);
        next = end + 1;
      }
      const patch = since(mark, (r) => r.method === 'PATCH');
      assert.equal(patch.length, 1);
      assert.match(patch[0]!.path, /^\/v1\.0\/me\/drive\/items\/item-\d+$/);
      assert.equal(patch[0]!.query.get('@microsoft.graph.conflictBehavior'), 'replace');
      assert.deepEqual(patch[0]!.json, { name: `r-${label}.wav` });
      assert.deepEqual(fake.names(folder), [`r-${label}.wav`], 'no temporary left');
      assert.equal(await t.sha256(folder, `r-${label}.wav`), sha256(await readFile(files[file])));
      assert.equal(await t.size(folder, `r-${label}.wav`), size);
      await t.close();
    });
  }

  it('reads back through the 302 download URL without the Authorization header', async () => {
    fake.put('dl/a.bin', Buffer.from('hello'));
    const t = target();
    const mark = fake.requests.length;
    assert.equal(await t.sha256('dl', 'a.bin'), sha256(Buffer.from('hello')));
    const [content, download] = since(mark);
    assert.equal(content!.path, '/v1.0/me/drive/root:/dl/a.bin:/content');
    assert.match(String(content!.headers.authorization), /^Bearer at-/);
    assert.match(download!.path, /^\/download\//);
    assert.equal(download!.headers.authorization, undefined);
    assert.equal(await t.sha256('dl', 'missing.bin'), undefined);
    assert.equal(await t.size('dl', 'missing.bin'), undefined);
    await t.close();
  });

  it('replaces an earlier copy and a leftover temporary; where PATCH ignores replace it deletes first', async () => {
    fake.put('rep/x.wav', Buffer.from('old'));
    fake.put(`rep/${temporaryName('x.wav')}`, Buffer.from('leftover'));
    const t = target();
    await t.upload(files.small, 'rep', 'x.wav');
    assert.equal(fake.file('rep/x.wav')!.length, MB1);
    assert.deepEqual(fake.names('rep'), ['x.wav']);
    await t.close();

    const personal = await FakeGraph.start({ patchIgnoresConflictBehavior: true });
    try {
      personal.put('p/x.wav', Buffer.from('old'));
      const store = new MemoryStore(personal.issueRefreshToken());
      const auth = new OneDriveAuth({ cloud: 'global', clientId: 'c', store, baseUrls: personal.baseUrls });
      const p = new OneDriveTarget({ id: 'p', cloud: 'global', tokens: auth, baseUrls: personal.baseUrls });
      await p.upload(files.small, 'p', 'x.wav');
      assert.equal(personal.file('p/x.wav')!.length, MB1);
      const order = personal.requests.filter((r) => r.method === 'PATCH' || r.method === 'DELETE').map((r) => r.method);
      assert.deepEqual(order, ['PATCH', 'DELETE', 'PATCH']);
      await p.close();
    } finally {
      await personal.close();
    }
  });

  it('uploads an empty file with a simple PUT', async () => {
    const t = target();
    await t.upload(files.empty, '', 'empty.json');
    assert.deepEqual(fake.file('empty.json'), Buffer.alloc(0));
    assert.equal(fake.file(temporaryName('empty.json')), undefined);
    await t.close();
  });

  it('uses /drives/{driveId} when a drive is configured', async () => {
    const t = target({ driveId: 'b!lib42' });
    const mark = fake.requests.length;
    await t.ensureFolder('Lib');
    await t.upload(files.small, 'Lib', 'd.wav');
    assert.ok(since(mark).every((r) => r.path.startsWith('/v1.0/drives/b!lib42/') || r.path.startsWith('/upload/')));
    assert.equal(fake.file('Lib/d.wav', 'b!lib42')!.length, MB1);
    await t.close();
  });
});

describe('OneDriveTarget faults', () => {
  it('resumes from nextExpectedRanges after a fragment answered 500', async () => {
    const t = target();
    fake.failFragments(1, { status: 500 });
    const mark = fake.requests.length;
    await t.upload(files.large, '', 'resume.wav');
    const puts = since(mark, fragmentPuts);
    assert.equal(puts.length, MB5 / CHUNK + 1, 'the failed fragment was sent again');
    assert.equal(since(mark, (r) => r.method === 'GET' && r.path.startsWith('/upload/')).length, 1, 'status asked');
    assert.equal(await t.sha256('', 'resume.wav'), sha256(await readFile(files.large)));
    await t.close();
  });

  it('skips what the service kept when the 500 came after the bytes were stored', async () => {
    const t = target();
    fake.failFragments(1, { status: 500, afterStore: true });
    const mark = fake.requests.length;
    await t.upload(files.large, '', 'kept.wav');
    assert.equal(since(mark, fragmentPuts).length, MB5 / CHUNK, 'no fragment sent twice');
    assert.equal(fake.file('kept.wav')!.length, MB5);
    await t.close();
  });

  it('starts a new session when the upload URL is gone (404)', async () => {
    const t = target();
    fake.failFragments(1, { status: 404 });
    const mark = fake.requests.length;
    await t.upload(files.small, '', 'again.wav');
    assert.equal(since(mark, (r) => r.path.endsWith(':/createUploadSession')).length, 2);
    assert.equal(fake.file('again.wav')!.length, MB1);
    await t.close();
  });

  it('waits out Retry-After on 429 (Graph and upload URL), and gives up on one longer than allowed', async () => {
    const t = target({ maxRetryAfterMs: 10_000 });
    fake.throttle(1, { retryAfter: '3', match: (r) => r.path.endsWith(':/createUploadSession') });
    fake.failFragments(1, { status: 429, retryAfter: '2' });
    await t.upload(files.small, '', 'throttled.wav');
    assert.deepEqual(sleeps, [3000, 2000]);
    assert.equal(fake.file('throttled.wav')!.length, MB1);
    fake.throttle(1, { status: 503, retryAfter: '60' });
    await assert.rejects(t.size('', 'throttled.wav'), appError('ARCHIVE_IO', true));
    await t.close();
  });

  it('refreshes the token once after a 401 and retries the request', async () => {
    const auth = tokens();
    const t = target({ tokens: auth });
    await t.ensureFolder('auth');
    fake.expireAccessTokens();
    const mark = fake.requests.length;
    await t.upload(files.small, 'auth', 'a.wav');
    const seen = fake.requests
      .slice(mark)
      .map((r) => (r.path.endsWith('/token') ? 'token' : `${r.method} ${r.path.split('/')[1]}`));
    assert.deepEqual(seen.slice(0, 3), ['POST v1.0', 'token', 'POST v1.0']);
    assert.equal(fake.file('auth/a.wav')!.length, MB1);
    await t.close();
  });

  it('a 401 after the refresh is ARCHIVE_AUTH, not retriable', async () => {
    let calls = 0;
    const bogus: OneDriveTokenSource = {
      accessToken: () => Promise.resolve(`not-a-token-${++calls}`),
    };
    const t = target({ tokens: bogus });
    await assert.rejects(t.list(''), appError('ARCHIVE_AUTH', false));
    assert.equal(calls, 2);
    await t.close();
  });

  it('invalid_grant on refresh is ARCHIVE_AUTH, not retriable', async () => {
    const t = target();
    fake.revokeRefreshTokens();
    await assert.rejects(t.ensureFolder('never'), appError('ARCHIVE_AUTH', false));
    await t.close();
  });

  it('an unreachable Graph is ARCHIVE_CONNECT, retriable', async () => {
    const t = new OneDriveTarget({
      id: 'down',
      cloud: 'global',
      tokens: { accessToken: () => Promise.resolve('t') },
      baseUrls: { graph: 'http://127.0.0.1:1/v1.0' },
      maxAttempts: 2,
      sleep: () => Promise.resolve(),
    });
    await assert.rejects(t.size('', 'x'), appError('ARCHIVE_CONNECT', true));
    await t.close();
    await assert.rejects(t.size('', 'x'), appError('ARCHIVE_IO', false), 'a closed target rejects calls');
  });

  it('refuses a chunk size that is not a multiple of 320 KiB', () => {
    assert.throws(
      () => new OneDriveTarget({ id: 'x', cloud: 'global', tokens: tokens(), chunkSize: 1_000_000 }),
      appError('ARCHIVE_CONFIG', false),
    );
  });
});

describe('OneDriveTarget delete and list', () => {
  it('deletes (204) and accepts a file already gone (404)', async () => {
    fake.put('del/x.wav', Buffer.from('x'));
    const t = target();
    await t.delete('del', 'x.wav');
    assert.equal(fake.file('del/x.wav'), undefined);
    await t.delete('del', 'x.wav');
    await t.delete('no-such-folder', 'x.wav');
    await t.close();
  });

  it('lists all children across @odata.nextLink pages, temporaries included; [] for a missing folder', async () => {
    const names = ['a.wav', 'b.wav', 'c.json', 'd.sha256', temporaryName('e.wav')];
    for (const name of names) fake.put(`list/${name}`, Buffer.from(name));
    const t = target();
    const mark = fake.requests.length;
    assert.deepEqual((await t.list('list')).sort(), [...names].sort());
    assert.equal(since(mark).length, 2, 'two pages of three');
    assert.ok(since(mark)[1]!.query.has('$skiptoken'));
    assert.deepEqual(await t.list('missing'), []);
    await t.close();
  });
});
