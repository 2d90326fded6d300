/**
 * `callrec recordings pause|resume <callId>` (SPEC §4, §11) through runRecordingControl against a
 * real AdminHttpServer on loopback with a stub call table: the POST it sends (path, encoded
 * Call-ID, bearer token from admin.http.token), its exit codes (0 done, 1 no such recorded call,
 * 2 usage, unreadable token, refused or unreachable endpoint) and that the token never shows up
 * in what it prints.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminHttpServer, type AdminAuditEntry } from '../../../src/admin/index.js';
import { runRecordingControl } from '../../../src/cli/commands/recording-control.js';
import { findFreePort } from '../../../src/cli/free-port.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

const TOKEN = 'unit-test-admin-token-5d1c';
/** A caller's SIP Call-ID with characters that must be escaped in the path. */
const SIP_CALL_ID = 'a84b4c76e66710/x y@trunk.example';

interface Run {
  readonly code: number;
  readonly log: string[];
  readonly error: string[];
}

interface Endpoint {
  readonly admin: AdminHttpServer;
  /** What the stub call table was asked: `<action> <callId>`. */
  readonly controlled: string[];
  readonly audited: AdminAuditEntry[];
}

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-recording-control-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The admin endpoint with a call table that knows `running` only; `broken` makes it throw. */
async function startEndpoint(options: { token?: string; running: string[]; broken?: boolean }): Promise<Endpoint> {
  const controlled: string[] = [];
  const audited: AdminAuditEntry[] = [];
  const admin = await AdminHttpServer.start({
    host: '127.0.0.1',
    port: 0,
    ...(options.token === undefined ? {} : { token: options.token }),
    health: () => ({ calls: 0, dialogs: 0, transactions: 0, registrations: 0 }),
    recordingControl: {
      control: (callId, action) => {
        controlled.push(`${action} ${callId}`);
        if (options.broken === true) throw new Error('call table broken');
        return options.running.includes(callId) ? 'found' : 'not-found';
      },
      audit: (entry) => void audited.push(entry),
    },
  });
  return { admin, controlled, audited };
}

/** A config whose admin.http points at `port`; `token` is written to a file next to it. */
async function configFor(port: number, token?: { file: string } | { value: string }): Promise<string> {
  const dir = join(root, String(++counter));
  await mkdir(dir);
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  delete config.$schema;
  delete config.email;
  config.installation = { dataDir: join(dir, 'var'), keystorePassword: 'unit-test' };
  const http: Json = { host: '127.0.0.1', port };
  if (token !== undefined && 'value' in token) {
    await writeFile(join(dir, 'admin-token'), `${token.value}\n`, { mode: 0o600 });
    http.token = { file: 'admin-token' };
  } else if (token !== undefined) http.token = { file: token.file };
  config.admin = { http };
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config));
  return configPath;
}

async function run(action: 'pause' | 'resume', configPath: string, callId: string): Promise<Run> {
  const log: string[] = [];
  const error: string[] = [];
  const code = await runRecordingControl(action, {
    configPath,
    callId,
    out: { log: (line) => log.push(line), error: (line) => error.push(line) },
  });
  return { code, log, error };
}

function explain(result: Run): string {
  return JSON.stringify(result);
}

describe('callrec recordings pause|resume', () => {
  describe('without a token', () => {
    let endpoint: Endpoint;
    let configPath: string;
    before(async () => {
      endpoint = await startEndpoint({ running: ['call-1', SIP_CALL_ID] });
      configPath = await configFor(endpoint.admin.port);
    });
    after(() => endpoint.admin.close());

    it('pauses and resumes a running call by recording id: exit 0, one line each', async () => {
      const paused = await run('pause', configPath, 'call-1');
      assert.equal(paused.code, 0, explain(paused));
      assert.deepEqual(paused.log, ['call-1: recording paused']);
      const resumed = await run('resume', configPath, 'call-1');
      assert.equal(resumed.code, 0, explain(resumed));
      assert.deepEqual(resumed.log, ['call-1: recording resumed']);
      assert.deepEqual(endpoint.controlled.slice(-2), ['pause call-1', 'resume call-1']);
      assert.deepEqual(
        endpoint.audited.slice(-2).map((e) => [e.action, e.subject, e.details['result']]),
        [
          ['recording.pause', 'call:call-1', 'found'],
          ['recording.resume', 'call:call-1', 'found'],
        ],
      );
      assert.match(endpoint.audited.at(-1)?.actor ?? '', /^http:127\.0\.0\.1$/);
    });

    it("reaches the call by the caller's Call-ID, escaped in the path and decoded by the server", async () => {
      const paused = await run('pause', configPath, SIP_CALL_ID);
      assert.equal(paused.code, 0, explain(paused));
      assert.equal(endpoint.controlled.at(-1), `pause ${SIP_CALL_ID}`);
    });

    it('exits 1 naming the id when no such recorded call runs (and the request is audited)', async () => {
      const result = await run('pause', configPath, 'no-such-call');
      assert.equal(result.code, 1, explain(result));
      assert.deepEqual(result.log, []);
      assert.match(result.error.join('\n'), /no running recorded call no-such-call/);
      assert.deepEqual(
        [endpoint.audited.at(-1)?.subject, endpoint.audited.at(-1)?.details['result']],
        ['call:no-such-call', 'not-found'],
      );
    });

    it('exits 2 with the usage for an empty or blank call id, without asking the server', async () => {
      const before = endpoint.controlled.length;
      for (const callId of ['', '   ']) {
        const result = await run('resume', configPath, callId);
        assert.equal(result.code, 2, explain(result));
        assert.match(result.error.join('\n'), /usage: callrec recordings resume <callId>/);
      }
      assert.equal(endpoint.controlled.length, before);
    });

    it('exits 2 for an invalid config, naming the file', async () => {
      const broken = join(root, 'broken.json');
      await writeFile(broken, '{ "installation": ');
      const result = await run('pause', broken, 'call-1');
      assert.equal(result.code, 2, explain(result));
      assert.match(result.error.join('\n'), /invalid config .*broken\.json/);
    });
  });

  describe('with admin.http.token', () => {
    let endpoint: Endpoint;
    before(async () => {
      endpoint = await startEndpoint({ token: TOKEN, running: ['call-7'] });
    });
    after(() => endpoint.admin.close());

    it('sends the token from the token file as a bearer token; the server accepts it', async () => {
      const configPath = await configFor(endpoint.admin.port, { value: TOKEN });
      const result = await run('pause', configPath, 'call-7');
      assert.equal(result.code, 0, explain(result));
      assert.equal(endpoint.controlled.at(-1), 'pause call-7');
      assert.ok(!JSON.stringify(result).includes(TOKEN), 'the token is never printed');
    });

    it('exits 2 saying a token is required when the config has none (the server answers 401)', async () => {
      const configPath = await configFor(endpoint.admin.port);
      const before = endpoint.controlled.length;
      const result = await run('pause', configPath, 'call-7');
      assert.equal(result.code, 2, explain(result));
      assert.match(result.error.join('\n'), /refused the request \(401\).*requires a token, set admin\.http\.token/);
      assert.equal(endpoint.controlled.length, before, 'refused before the call table was asked');
    });

    it('exits 2 saying the token does not match when it is wrong, without printing it', async () => {
      const configPath = await configFor(endpoint.admin.port, { value: 'not-the-token' });
      const result = await run('resume', configPath, 'call-7');
      assert.equal(result.code, 2, explain(result));
      assert.match(result.error.join('\n'), /401.*admin\.http\.token does not match/);
      assert.ok(!JSON.stringify(result).includes('not-the-token'));
    });

    it('reaches a wildcard admin.http.host (0.0.0.0) on loopback', async () => {
      const configPath = await configFor(endpoint.admin.port, { value: TOKEN });
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { admin: { http: Json } };
      config.admin.http.host = '0.0.0.0';
      await writeFile(configPath, JSON.stringify(config));
      const result = await run('resume', configPath, 'call-7');
      assert.equal(result.code, 0, explain(result));
      assert.equal(endpoint.controlled.at(-1), 'resume call-7');
    });

    it('exits 2 naming admin.http.token when its file cannot be read', async () => {
      const configPath = await configFor(endpoint.admin.port, { file: join(root, 'missing-token') });
      const result = await run('pause', configPath, 'call-7');
      assert.equal(result.code, 2, explain(result));
      assert.match(result.error.join('\n'), /admin\.http\.token: cannot read secret file .*missing-token \(ENOENT\)/);
    });
  });

  it('exits 2 with the address when nothing listens on admin.http', async () => {
    const port = await findFreePort('127.0.0.1');
    const result = await run('pause', await configFor(port), 'call-1');
    assert.equal(result.code, 2, explain(result));
    assert.match(
      result.error.join('\n'),
      new RegExp(`cannot reach the running callrec at 127\\.0\\.0\\.1:${port} \\(admin\\.http\\).*ECONNREFUSED`),
    );
  });

  it('exits 2 with the status when the endpoint fails (500)', async () => {
    const endpoint = await startEndpoint({ running: [], broken: true });
    try {
      const result = await run('resume', await configFor(endpoint.admin.port), 'call-1');
      assert.equal(result.code, 2, explain(result));
      assert.match(result.error.join('\n'), /the admin endpoint answered 500/);
      assert.equal(endpoint.audited.at(-1)?.details['result'], 'error');
    } finally {
      await endpoint.admin.close();
    }
  });
});
