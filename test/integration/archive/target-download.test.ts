/**
 * `ArchiveTarget.download` (issue 9: export fetches recordings whose spool copy is gone) on every
 * target type — a local folder, a real smbd, a real OpenSSH sshd and the Graph fake:
 *  - the remote bytes arrive unchanged (a 3 MB file and an empty one), in a file of mode 0600
 *    that replaces whatever was at the local path;
 *  - a missing file or folder resolves `false` and leaves no local file;
 *  - a local path that cannot be written rejects with a non-retriable ARCHIVE_IO.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArchiveTarget } from '../../../src/archive/targets/archive-target.js';
import { LocalTarget } from '../../../src/archive/targets/local-target.js';
import { OneDriveAuth } from '../../../src/archive/targets/onedrive-auth.js';
import { OneDriveTarget } from '../../../src/archive/targets/onedrive-target.js';
import { SftpTarget } from '../../../src/archive/targets/sftp-target.js';
import { SmbTarget } from '../../../src/archive/targets/smb-target.js';
import type { RefreshTokenStore } from '../../../src/archive/targets/onedrive-token-store.js';
import { AppError } from '../../../src/errors.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { sambaSkipReason, startSamba, type SambaServer } from '../../support/samba.js';
import { sshdSkipReason, startSshd, type SshdServer } from '../../support/sshd.js';

const FOLDER = 'Recordings/2026/05';

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

/** The same download behaviour, asserted for one target built by `open` in `before`. */
function downloadCases(open: () => Promise<{ target: ArchiveTarget; close: () => Promise<void> }>): void {
  let work: string;
  let target: ArchiveTarget;
  let close: () => Promise<void> = () => Promise.resolve();
  const content = randomBytes(3 * 1024 * 1024 + 17);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'callrec-download-'));
    ({ target, close } = await open());
    await writeFile(join(work, 'rec.wav'), content);
    await writeFile(join(work, 'rec.json'), '');
    await target.ensureFolder(FOLDER);
    await target.upload(join(work, 'rec.wav'), FOLDER, 'rec.wav');
    await target.upload(join(work, 'rec.json'), FOLDER, 'rec.json');
  });

  after(async () => {
    await target.close();
    await close();
    await rm(work, { recursive: true, force: true });
  });

  it('copies the remote bytes unchanged into a 0600 file, replacing an existing one', async () => {
    const local = join(work, 'copy.wav');
    await writeFile(local, 'older and shorter', { mode: 0o644 });
    assert.equal(await target.download(FOLDER, 'rec.wav', local), true);
    assert.ok((await readFile(local)).equals(content), 'same bytes');
    assert.equal((await stat(local)).mode & 0o777, 0o600);
  });

  it('copies an empty file', async () => {
    const local = join(work, 'copy.json');
    assert.equal(await target.download(FOLDER, 'rec.json', local), true);
    assert.equal((await readFile(local)).length, 0);
    assert.equal((await stat(local)).mode & 0o777, 0o600);
  });

  it('resolves false for a missing file or folder and leaves no local file', async () => {
    const local = join(work, 'missing.wav');
    await writeFile(local, 'stale');
    assert.equal(await target.download(FOLDER, 'no-such.wav', local), false);
    await assert.rejects(stat(local), { code: 'ENOENT' });
    assert.equal(await target.download('No/Such/Folder', 'rec.wav', local), false);
    await assert.rejects(stat(local), { code: 'ENOENT' });
  });

  it('rejects a local path that cannot be written with ARCHIVE_IO, not retriable', async () => {
    const blocked = join(work, 'a-folder');
    await mkdir(join(blocked, 'inside'), { recursive: true }); // a non-empty folder cannot be replaced by a file
    await assert.rejects(
      target.download(FOLDER, 'rec.wav', blocked),
      (error: unknown) => error instanceof AppError && error.code === 'ARCHIVE_IO' && !error.retriable,
    );
  });
}

describe('LocalTarget.download', () => {
  downloadCases(async () => {
    const root = await mkdtemp(join(tmpdir(), 'callrec-download-local-'));
    return {
      target: new LocalTarget({ id: 'local', root }),
      close: () => rm(root, { recursive: true, force: true }),
    };
  });
});

describe('SmbTarget.download against a real smbd', { skip: sambaSkipReason() }, () => {
  let server: SambaServer | undefined;
  downloadCases(async () => {
    server = await startSamba();
    const { host, port, share, domain, username, password } = server;
    return {
      target: new SmbTarget({ id: 'nas', host, port, share, domain, username, password }),
      close: async () => server?.stop(),
    };
  });
});

describe('SftpTarget.download against OpenSSH', { skip: sshdSkipReason() }, () => {
  let server: SshdServer | undefined;
  downloadCases(async () => {
    server = await startSshd();
    const user = server.users.password;
    return {
      target: new SftpTarget({
        id: 'sftp',
        host: server.host,
        port: server.port,
        username: user.username,
        password: user.password,
        hostKey: server.hostKeyFingerprint,
      }),
      close: async () => server?.stop(),
    };
  });
});

describe('OneDriveTarget.download against the Graph fake', () => {
  let fake: FakeGraph | undefined;
  downloadCases(async () => {
    const graph = await FakeGraph.start({ pageSize: 3 });
    fake = graph;
    const tokens = new OneDriveAuth({
      cloud: 'global',
      clientId: 'c',
      store: new MemoryStore(graph.issueRefreshToken()),
      baseUrls: graph.baseUrls,
    });
    return {
      target: new OneDriveTarget({ id: 'cloud', cloud: 'global', tokens, baseUrls: graph.baseUrls }),
      close: async () => {
        assert.deepEqual(fake?.violations, [], 'no documented Graph rule broken');
        await graph.close();
      },
    };
  });
});
