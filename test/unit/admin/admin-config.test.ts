/**
 * `admin.http.token` in the config: a secret like the others (string, { env }, { file }),
 * required when the admin endpoint listens off loopback (an error with its JSON path, so
 * `callrec config check` fails), listed for `config check` (unresolvable env → warning, the value
 * never printed), `{ file }` resolved against the config's folder; config/examples/admin-remote.json
 * is a valid config.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runConfigCheck } from '../../../src/cli/commands/config-check.js';
import { listSecrets, loadConfig, type LoadConfigResult } from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

let dir: string;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-admin-config-'));
});

after(() => rm(dir, { recursive: true, force: true }));

async function withAdmin(http: Json): Promise<{ file: string; result: LoadConfigResult }> {
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  delete config['$schema'];
  config['admin'] = { http };
  const file = join(dir, `callrec-${++counter}.json`);
  await writeFile(file, JSON.stringify(config));
  return { file, result: await loadConfig(file) };
}

describe('admin.http.token in the config', () => {
  it('accepts a token from env, file or literal, and resolves a file token against the config folder', async () => {
    for (const token of [{ env: 'CALLREC_ADMIN_TOKEN' }, { file: 'admin-token' }, 'literal-token-1234']) {
      const { result } = await withAdmin({ host: '127.0.0.1', port: 9060, token });
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.errors));
      const expected = typeof token === 'object' && 'file' in token ? { file: join(dir, 'admin-token') } : token;
      assert.deepEqual(result.config.admin.http.token, expected);
      assert.ok(listSecrets(result.config).some((secret) => secret.path === '/admin/http/token'));
    }
  });

  it('keeps admin.http optional: absent, it listens on 127.0.0.1:9060 without a token', async () => {
    const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
    delete config['admin'];
    const file = join(dir, 'no-admin.json');
    await writeFile(file, JSON.stringify(config));
    const result = await loadConfig(file);
    assert.ok(result.ok);
    assert.deepEqual(result.config.admin.http, { host: '127.0.0.1', port: 9060 });
  });

  it('refuses a non-loopback host without a token, naming /admin/http/token', async () => {
    const { result } = await withAdmin({ host: '0.0.0.0', port: 9060 });
    assert.equal(result.ok, false);
    const error = result.ok ? undefined : result.errors.find((e) => e.path === '/admin/http/token');
    assert.match(error?.message ?? '', /required when the admin endpoint listens on 0\.0\.0\.0/);
  });

  it('refuses a token of the wrong shape', async () => {
    const { result } = await withAdmin({ host: '127.0.0.1', port: 9060, token: { value: 'x' } });
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.errors.some((e) => e.path.startsWith('/admin/http/token')));
  });

  it('config check: accepts a remote bind with a token, warns of an unset env token without its value', async () => {
    delete process.env['CALLREC_TEST_ADMIN_TOKEN_UNSET'];
    const { file } = await withAdmin({
      host: '10.0.0.2',
      port: 9060,
      token: { env: 'CALLREC_TEST_ADMIN_TOKEN_UNSET' },
    });
    const out = { log: [] as string[], error: [] as string[] };
    const code = await runConfigCheck(file, { log: (l) => out.log.push(l), error: (l) => out.error.push(l) });
    assert.equal(code, 0, out.error.join('\n'));
    assert.ok(
      out.error.some((l) => /\/admin\/http\/token: .*CALLREC_TEST_ADMIN_TOKEN_UNSET is not set/.test(l)),
      out.error.join('\n'),
    );
    assert.ok(out.error.some((l) => /\/admin\/http\/host: .*not only on localhost/.test(l)));
  });

  it('config check: a literal token gets the clear-text warning, never the value', async () => {
    const { file } = await withAdmin({ host: '127.0.0.1', port: 9060, token: 'do-not-print-me' });
    const out = { log: [] as string[], error: [] as string[] };
    assert.equal(await runConfigCheck(file, { log: (l) => out.log.push(l), error: (l) => out.error.push(l) }), 0);
    assert.ok(out.error.some((l) => l.includes('/admin/http/token: secret is stored in clear')));
    assert.ok(![...out.log, ...out.error].some((l) => l.includes('do-not-print-me')));
  });

  it('config/examples/admin-remote.json is valid', async () => {
    const result = await loadConfig(join(repoRoot, 'config', 'examples', 'admin-remote.json'));
    assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.errors));
    assert.deepEqual(result.config.admin.http.token, { env: 'CALLREC_ADMIN_TOKEN' });
  });
});
