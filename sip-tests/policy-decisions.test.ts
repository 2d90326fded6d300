/**
 * End to end through the real callrec (issue "Recording policy"), SIPp on both sides: the decision
 * for each kind of call is in its "call started" line (and the calls row of callrec.db):
 *  - inbound to a recorded group's number, to an explicitly recorded user's number;
 *  - inbound to the direct number of an active / inactive member, option on and (after a config
 *    reload) off;
 *  - outbound from an active member, after `callrec group logout`, after the logout feature code
 *    (*51, answered by callrec itself and never sent to the trunk) and after login (*52);
 *  - a feature code from someone who is no configured user gets 403 with the reason;
 *  - a config edit with an error leaves the old config running and says why; a good edit applies
 *    to the next call without a restart.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { databasePath, openDatabase, SqliteCallStore } from '../src/store/index.js';
import { repoRoot } from '../test/support/paths.js';
import { assertCallSucceeded, PBX_IP, startTestbed, type Testbed } from './support/b2bua.js';
import { runSipp } from './support/sipp.js';

const USERS = [
  { id: 'alice', extension: '201', numbers: ['+4930123456201'] },
  { id: 'bob', extension: '202', numbers: ['+4930123456202'] },
  { id: 'carol', extension: '203', numbers: ['+4930123456203'] },
  { id: 'dave', extension: '204', numbers: ['+4930123456204'] },
];
const GROUPS = [{ id: 'trading', numbers: ['+4930123456500'], members: ['alice', 'bob'] }];
const profile = (recordDirectCallsToActiveMembers: boolean): Record<string, unknown> => ({
  id: 'trading',
  enabled: true,
  groups: ['trading'],
  users: ['carol'],
  inbound: true,
  outbound: true,
  recordDirectCallsToActiveMembers,
  channels: 'both-stereo',
  consent: { legalBasis: 'obligation' },
  signing: true,
  targets: [],
  retentionDays: 30,
  onRecordingFailure: 'continue',
});

interface Decision {
  readonly recorded: boolean;
  readonly profile: string | null;
  readonly decision: string;
  readonly call: string;
}

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitForLog(
  bed: Testbed,
  after: number,
  msg: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = bed.callrec
      .logs()
      .slice(after)
      .find((l) => l['msg'] === msg || String(l['msg']).startsWith(msg));
    if (line !== undefined) return line;
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('recording policy decisions through the real callrec', { concurrency: false }, () => {
  let bed: Testbed;
  before(async () => {
    bed = await startTestbed({
      config: {
        users: USERS,
        groups: GROUPS,
        featureCodes: { groupLogout: '*51', groupLogin: '*52' },
        profiles: [profile(true)],
      },
    });
  });
  after(async () => {
    await bed?.stop();
  });

  /** Runs one connected call and returns the decision of its "call started" line. */
  const call = async (
    direction: 'inbound' | 'outbound',
    service: string,
    caller = '+4940111222',
  ): Promise<Decision> => {
    const before = bed.callrec.logs().length;
    const run = await bed.call({
      direction,
      uac: 'uac-call-as-caller-hangup-expect-200.xml',
      uas: 'uas-answer-await-bye.xml',
      service,
      keys: { caller },
    });
    assertCallSucceeded(run);
    return (await waitForLog(bed, before, 'call started')) as unknown as Decision;
  };

  const groupCli = async (action: string, user: string): Promise<void> => {
    const result = await runCli(['group', action, 'trading', user, '--config', bed.callrec.configPath]);
    assert.equal(result.code, 0, result.stderr);
    // The server notices another process's commit within its refresh interval (250 ms)
    await new Promise((r) => setTimeout(r, 700));
  };

  const featureCode = async (code: string, caller: string): Promise<Record<string, unknown>> => {
    const before = bed.callrec.logs().length;
    const run = await runSipp({
      scenario: 'uac-featurecode-await-bye-expect-200.xml',
      port: bed.callrec.port,
      localIp: PBX_IP,
      service: code,
      keys: { caller },
      timeoutSeconds: 15,
    });
    assert.equal(run.code, 0, `feature code call failed: ${run.errors}`);
    return waitForLog(bed, before, 'feature code');
  };

  it('records an inbound call to a recorded group number', async () => {
    const decision = await call('inbound', '+4930123456500');
    assert.equal(decision.recorded, true, decision.decision);
    assert.equal(decision.profile, 'trading');
    assert.match(decision.decision, /group/);
  });

  it("records an inbound call to an explicitly recorded user's number, in national format too", async () => {
    const decision = await call('inbound', '030123456203');
    assert.equal(decision.recorded, true, decision.decision);
    assert.equal(decision.profile, 'trading');
  });

  it('does not record an inbound call to an unrecorded user', async () => {
    const decision = await call('inbound', '+4930123456204');
    assert.equal(decision.recorded, false);
    assert.equal(decision.profile, null);
    assert.ok(decision.decision.length > 0, 'the reason is logged');
  });

  it('records inbound direct calls to an active member when the option is on', async () => {
    const decision = await call('inbound', '+4930123456201');
    assert.equal(decision.recorded, true, decision.decision);
  });

  it('records outbound calls from an active member', async () => {
    const decision = await call('outbound', '004940111222', '201');
    assert.equal(decision.recorded, true, decision.decision);
    assert.equal(decision.profile, 'trading');
  });

  it('stops recording a member after `callrec group logout`, inbound direct and outbound', async () => {
    await groupCli('logout', 'alice');
    const outbound = await call('outbound', '004940111222', '201');
    assert.equal(outbound.recorded, false, outbound.decision);
    const inbound = await call('inbound', '+4930123456201');
    assert.equal(inbound.recorded, false, inbound.decision);
    // The group number itself is still recorded
    assert.equal((await call('inbound', '+4930123456500')).recorded, true);
    await groupCli('login', 'alice');
    assert.equal((await call('outbound', '004940111222', '201')).recorded, true);
  });

  it('logs a member out with the feature code, answered by callrec and never sent to the trunk', async () => {
    const outcome = await featureCode('*51', '202');
    assert.equal(outcome['ok'], true);
    assert.match(String(outcome['outcome']), /bob logged out of trading/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await call('outbound', '004940111222', '202')).recorded, false);
    const audit = await runCli(['audit', '--config', bed.callrec.configPath]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /extension:202 membership\.logout/);
    assert.match(audit.stdout, /cli:\S+ membership\.logout/);

    const login = await featureCode('*52', '202');
    assert.equal(login['ok'], true);
    assert.equal((await call('outbound', '004940111222', '202')).recorded, true);
  });

  it('refuses a feature code from a caller who is no configured user with 403 and the reason', async () => {
    const before = bed.callrec.logs().length;
    const run = await runSipp({
      scenario: 'uac-invite-expect-403.xml',
      port: bed.callrec.port,
      localIp: PBX_IP,
      service: '*51',
      timeoutSeconds: 15,
    });
    assert.equal(run.code, 0, run.errors);
    const outcome = await waitForLog(bed, before, 'feature code');
    assert.equal(outcome['ok'], false);
  });

  it('writes a calls row with the decision for every call', async () => {
    const db = await openDatabase(databasePath(join(bed.callrec.dir, 'data')));
    try {
      const rows = await new SqliteCallStore(db).listCalls();
      const started = bed.callrec.logs().filter((l) => l['msg'] === 'call started');
      assert.equal(rows.length, started.length);
      for (const line of started) {
        const row = rows.find((r) => r.id === line['call']);
        assert.ok(row !== undefined, `row for ${String(line['call'])}`);
        assert.equal(row.decisionProfile, line['profile']);
        assert.ok(row.endedAt !== null, 'ended calls are completed');
      }
    } finally {
      await db.close();
    }
  });

  it('keeps the running config when an edit is invalid, and says why', async () => {
    const path = bed.callrec.configPath;
    const good = await readFile(path, 'utf8');
    const broken = JSON.parse(good) as { profiles: Array<Record<string, unknown>> };
    broken.profiles[0] = { ...profile(false), groups: ['no-such-group'] };
    const before = bed.callrec.logs().length;
    await writeFile(path, JSON.stringify(broken, null, 2));
    const rejected = await waitForLog(bed, before, 'config edit rejected');
    assert.match(String(rejected['msg']), /\/profiles\/0\/groups/);
    assert.match(String(rejected['msg']), /no-such-group/);
    // Still the old config: the group number is recorded
    assert.equal((await call('inbound', '+4930123456500')).recorded, true);
    await writeFile(path, good);
    await waitForLog(bed, before, 'config reloaded');
  });

  it('applies a good edit to the next call without a restart', async () => {
    const path = bed.callrec.configPath;
    const config = JSON.parse(await readFile(path, 'utf8')) as { profiles: unknown[] };
    config.profiles = [profile(false)];
    const before = bed.callrec.logs().length;
    await writeFile(path, JSON.stringify(config, null, 2));
    await waitForLog(bed, before, 'config reloaded');
    const direct = await call('inbound', '+4930123456201');
    assert.equal(direct.recorded, false, 'option off: direct calls to members are not recorded');
    assert.equal((await call('inbound', '+4930123456500')).recorded, true);
  });
});
