/**
 * `callrec group login|logout|status <group> <user>` and `callrec audit` (SPEC §3, §7, §11),
 * through the run* functions the CLI calls: what they print, what they store (the membership
 * state in `<dataDir>/callrec.db`, audited with actor `cli:<os user>`), and their exit codes —
 * 0 done, 1 unknown group or user or not a member, 2 usage, invalid config or database error.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runAuditCommand } from '../../../src/cli/commands/audit.js';
import { cliActor, runGroupCommand } from '../../../src/cli/commands/group.js';
import { Membership } from '../../../src/policy/membership.js';
import { databasePath, openDatabase, SqliteAuditLog, SqliteMembershipStore } from '../../../src/store/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

interface Captured {
  readonly log: string[];
  readonly error: string[];
}

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-group-command-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The example config with its own dataDir and a user `carol` who is in no group. */
async function setup(): Promise<{ configPath: string; dataDir: string }> {
  const dir = join(root, String(++counter));
  await mkdir(dir);
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  const dataDir = join(dir, 'var');
  (config.installation as Json).dataDir = dataDir;
  (config.users as Json[]).push({ id: 'carol', extension: '203', numbers: [] });
  delete config.$schema;
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config));
  return { configPath, dataDir };
}

async function group(
  configPath: string,
  action: string,
  groupId: string,
  userId: string,
): Promise<{ code: number; out: Captured }> {
  const out: Captured = { log: [], error: [] };
  const code = await runGroupCommand(action, groupId, userId, {
    configPath,
    out: { log: (line) => out.log.push(line), error: (line) => out.error.push(line) },
  });
  return { code, out };
}

async function audit(configPath: string, since?: string): Promise<{ code: number; out: Captured }> {
  const out: Captured = { log: [], error: [] };
  const code = await runAuditCommand({
    configPath,
    ...(since === undefined ? {} : { since }),
    out: { log: (line) => out.log.push(line), error: (line) => out.error.push(line) },
  });
  return { code, out };
}

describe('callrec group', () => {
  it('logs a member out and in, prints the outcome, exits 0 and stores the state in <dataDir>/callrec.db', async () => {
    const { configPath, dataDir } = await setup();
    assert.deepEqual(await group(configPath, 'status', 'trading', 'alice'), {
      code: 0,
      out: { log: ['alice is active in group trading'], error: [] },
    });
    assert.deepEqual(await group(configPath, 'logout', 'trading', 'alice'), {
      code: 0,
      out: { log: ['alice: logged out of group trading'], error: [] },
    });
    const status = await group(configPath, 'status', 'trading', 'alice');
    assert.equal(status.code, 0);
    assert.match(
      status.out.log[0] ?? '',
      new RegExp(`^alice is not active in group trading \\(logged out \\S+Z by cli:${userInfo().username}\\)$`),
    );
    assert.deepEqual((await group(configPath, 'logout', 'trading', 'alice')).out.log, [
      'alice: logged out of group trading (already logged out)',
    ]);
    assert.deepEqual(await group(configPath, 'login', 'trading', 'alice'), {
      code: 0,
      out: { log: ['alice: logged in to group trading'], error: [] },
    });

    const db = await openDatabase(databasePath(dataDir));
    try {
      const store = new SqliteMembershipStore(db);
      assert.equal(await store.isActive('trading', 'alice'), true);
      await group(configPath, 'logout', 'trading', 'bob');
      const membership = await Membership.load(store, {
        groups: [{ id: 'trading', members: ['alice', 'bob'] }],
        users: [{ id: 'alice' }, { id: 'bob' }],
      });
      assert.equal(membership.isActive('trading', 'bob'), false);
      const entries = await new SqliteAuditLog(db).list();
      assert.deepEqual(
        entries.map((entry) => `${entry.actor} ${entry.action} ${entry.subject}`),
        [
          `${cliActor()} membership.logout group:trading/user:alice`,
          `${cliActor()} membership.logout group:trading/user:alice`,
          `${cliActor()} membership.login group:trading/user:alice`,
          `${cliActor()} membership.logout group:trading/user:bob`,
        ],
      );
      assert.equal(cliActor(), `cli:${userInfo().username}`);
    } finally {
      await db.close();
    }
  });

  it('reaches a server that holds the database open: its refreshIfChanged sees the CLI change', async () => {
    const { configPath, dataDir } = await setup();
    const db = await openDatabase(databasePath(dataDir));
    try {
      const server = await Membership.load(new SqliteMembershipStore(db), {
        groups: [{ id: 'trading', members: ['alice', 'bob'] }],
        users: [{ id: 'alice' }, { id: 'bob' }],
      });
      assert.equal((await group(configPath, 'logout', 'trading', 'bob')).code, 0);
      assert.equal(await server.refreshIfChanged(), true);
      assert.equal(server.isActive('trading', 'bob'), false);
    } finally {
      await db.close();
    }
  });

  it('exits 1 with a clear error for an unknown group, an unknown user and a non-member', async () => {
    const { configPath } = await setup();
    assert.deepEqual(await group(configPath, 'logout', 'canteen', 'alice'), {
      code: 1,
      out: { log: [], error: ['callrec group logout: unknown group "canteen": not in the configuration\'s groups'] },
    });
    assert.deepEqual(await group(configPath, 'login', 'trading', 'zoe'), {
      code: 1,
      out: { log: [], error: ['callrec group login: unknown user "zoe": not in the configuration\'s users'] },
    });
    assert.deepEqual(await group(configPath, 'status', 'trading', 'carol'), {
      code: 1,
      out: { log: [], error: ['callrec group status: user "carol" is not a member of group "trading"'] },
    });
  });

  it('exits 2 for an unknown action, an empty argument and an invalid or missing config', async () => {
    const { configPath } = await setup();
    const unknown = await group(configPath, 'kick', 'trading', 'alice');
    assert.equal(unknown.code, 2);
    assert.match(unknown.out.error[0] ?? '', /unknown action "kick" \(expected login, logout or status\)/);
    assert.equal((await group(configPath, 'logout', 'trading', ' ')).code, 2);
    const missing = await group(join(root, 'missing.json'), 'status', 'trading', 'alice');
    assert.equal(missing.code, 2);
    assert.match(missing.out.error.at(-1) ?? '', /invalid config .*missing\.json/);
    const bad = join(root, `bad-${++counter}.json`);
    await writeFile(bad, '{ "installation": 5 }');
    assert.equal((await group(bad, 'logout', 'trading', 'alice')).code, 2);
  });

  it('exits 2 when the database cannot be opened', async () => {
    const { configPath, dataDir } = await setup();
    await writeFile(dataDir, 'a file where the data folder should be');
    const result = await group(configPath, 'logout', 'trading', 'alice');
    assert.equal(result.code, 2);
    assert.match(result.out.error[0] ?? '', /^callrec group logout: cannot (create|open) /);
  });
});

describe('callrec audit', () => {
  it('prints one line per entry: ISO time, actor, action, subject, then the details', async () => {
    const { configPath } = await setup();
    assert.deepEqual(await audit(configPath), { code: 0, out: { log: [], error: [] } });
    await group(configPath, 'logout', 'trading', 'alice');
    await group(configPath, 'login', 'trading', 'alice');
    const { code, out } = await audit(configPath);
    assert.equal(code, 0);
    assert.equal(out.log.length, 2);
    const actor = cliActor();
    assert.match(
      out.log[0] ?? '',
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ${actor} membership\\.logout group:trading/user:alice \\{"group":"trading","user":"alice","active":false,"previous":null,"changed":true\\}$`,
      ),
    );
    assert.match(out.log[1] ?? '', / membership\.login group:trading\/user:alice /);
    assert.deepEqual((await audit(configPath, '2999-01-01T00:00:00Z')).out.log, []);
    assert.equal((await audit(configPath, '2000-01-01')).out.log.length, 2);
  });

  it('exits 2 for a --since that is not a time and for an invalid config', async () => {
    const { configPath } = await setup();
    const since = await audit(configPath, 'last tuesday');
    assert.equal(since.code, 2);
    assert.match(since.out.error[0] ?? '', /--since: not an ISO 8601 time: last tuesday/);
    assert.equal((await audit(join(root, 'missing.json'))).code, 2);
  });
});
