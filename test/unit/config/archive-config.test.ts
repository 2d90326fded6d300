/**
 * Config keys of the archive (SPEC §6, issue 8): `uploads.concurrency`, `maxBackoffSeconds`,
 * `timezone`, `webhook`, `email.digestMinutes`, `targets[].hostKey` (sftp), and folder templates
 * that can never leave a target's root — each invalid value reported at its JSON path.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  loadConfig,
  localPathProblem,
  splitTemplatePath,
  timeZoneProblem,
  webhookUrlProblem,
  type CallrecConfig,
  type ConfigError,
  type LoadConfigResult,
} from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

let dir: string;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-archive-config-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(edit: (config: Json) => void = () => undefined): Promise<LoadConfigResult> {
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  edit(config);
  const file = join(dir, `config-${++counter}.json`);
  await writeFile(file, JSON.stringify(config, null, 2));
  return loadConfig(file);
}

async function valid(edit?: (config: Json) => void): Promise<{ config: CallrecConfig; warnings: string[] }> {
  const result = await load(edit);
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.errors)}`);
  return result;
}

async function errors(edit: (config: Json) => void): Promise<ConfigError[]> {
  const result = await load(edit);
  assert.equal(result.ok, false, 'expected the config to be invalid');
  return result.ok ? [] : result.errors;
}

function at(list: readonly ConfigError[], path: string): string {
  const found = list.find((e) => e.path === path);
  assert.ok(found, `no error at ${path}; got ${JSON.stringify(list)}`);
  return found.message;
}

const section = (config: Json, key: string): Json => config[key] as Json;
const target = (config: Json, index: number): Json => (config.targets as Json[])[index] as Json;

describe('uploads and email keys', () => {
  it('default to concurrency 2, backoff cap 3600 s, digest 60 min, local time zone, no webhook', async () => {
    const { config } = await valid((c) => {
      c.uploads = {};
      delete section(c, 'email').digestMinutes;
    });
    assert.deepEqual(config.uploads, {
      intervalSeconds: 60,
      maxBackoffSeconds: 3600,
      concurrency: 2,
      keepLocal: false,
    });
    assert.equal(config.email?.digestMinutes, 60);
  });

  it('keep a valid time zone, webhook and the pinned host key of the example', async () => {
    const { config, warnings } = await valid((c) => {
      c.uploads = { timezone: 'Europe/Berlin', webhook: 'https://hooks.example.com/callrec?token=abc', concurrency: 4 };
    });
    assert.equal(config.uploads.timezone, 'Europe/Berlin');
    assert.equal(config.uploads.webhook, 'https://hooks.example.com/callrec?token=abc');
    assert.equal(config.uploads.concurrency, 4);
    const sftp = config.targets.find((t) => t.type === 'sftp');
    assert.equal(
      sftp?.type === 'sftp' ? sftp.hostKey : undefined,
      'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8',
    );
    assert.ok(!warnings.some((w) => w.includes('hostKey') || w.includes('webhook')), warnings.join('\n'));
  });

  it('reject out-of-range numbers and a backoff cap below the interval', async () => {
    const list = await errors((c) => {
      c.uploads = { intervalSeconds: 600, maxBackoffSeconds: 300, concurrency: 0 };
      section(c, 'email').digestMinutes = 0;
    });
    assert.equal(at(list, '/uploads/maxBackoffSeconds'), 'must not be less than intervalSeconds (600)');
    assert.match(at(list, '/uploads/concurrency'), />= 1/);
    assert.match(at(list, '/email/digestMinutes'), />= 1/);
  });

  it('reject an unknown time zone', async () => {
    const list = await errors((c) => (c.uploads = { timezone: 'Mars/Olympus_Mons' }));
    assert.match(at(list, '/uploads/timezone'), /IANA time zone/);
  });

  it('reject webhooks that are not http(s) URLs or carry credentials, without quoting them', async () => {
    assert.match(at(await errors((c) => (c.uploads = { webhook: 'ftp://example.com/x' })), '/uploads/webhook'), /http/);
    assert.match(at(await errors((c) => (c.uploads = { webhook: 'https://' })), '/uploads/webhook'), /URL/);
    const credentials = at(
      await errors((c) => (c.uploads = { webhook: 'https://user:s3cret@example.com/' })),
      '/uploads/webhook',
    );
    assert.match(credentials, /user name or password/);
    assert.ok(!credentials.includes('s3cret'));
  });

  it('warn about a plain-http webhook to another host, not to localhost', async () => {
    const remote = await valid((c) => (c.uploads = { webhook: 'http://hooks.example.com/x' }));
    assert.ok(remote.warnings.some((w) => w.startsWith('/uploads/webhook: plain http')));
    for (const webhook of ['http://127.0.0.1:8080/x', 'http://[::1]/x', 'http://localhost/x']) {
      const local = await valid((c) => (c.uploads = { webhook }));
      assert.ok(!local.warnings.some((w) => w.startsWith('/uploads/webhook')), webhook);
    }
  });
});

describe('sftp hostKey', () => {
  it('accepts only an OpenSSH SHA256 fingerprint', async () => {
    for (const hostKey of [
      'nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8',
      'SHA256:short',
      'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48',
      'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8=',
    ]) {
      const list = await errors((c) => (target(c, 1).hostKey = hostKey));
      assert.match(at(list, '/targets/1/hostKey'), /SHA256: and 43 base64 characters/, hostKey);
    }
  });

  it('is not a key of other target types, and its absence is a warning', async () => {
    assert.match(at(await errors((c) => (target(c, 0).hostKey = 'x')), '/targets/0/hostKey'), /^unknown key/);
    const { warnings } = await valid((c) => delete target(c, 1).hostKey);
    assert.ok(warnings.some((w) => w.startsWith('/targets/1/hostKey: not set')));
  });
});

describe('folder templates', () => {
  it('reject "..", absolute paths, backslashes and drive letters at the folder path', async () => {
    const cases: Array<[string, RegExp]> = [
      ['../outside/$Y', /"\.\."/],
      ['Recordings/$Y/../../x', /"\.\."/],
      ['/srv/recordings/$Y', /no leading "\/"/],
      ['Recordings\\$Y', /"\/" between folders/],
      ['C:/Recordings', /drive letter/],
    ];
    for (const [folder, message] of cases) {
      const list = await errors((c) => (target(c, 0).folder = folder));
      assert.match(at(list, '/targets/0/folder'), message, folder);
    }
  });

  it('check the template part of a local path, not the directories before it', async () => {
    await valid((c) => (target(c, 3).path = '/mnt/../mnt/archive/$Y/$M'));
    await valid((c) => (target(c, 3).path = '../archive/Record-$Y_$M_$D'));
    const list = await errors((c) => (target(c, 3).path = '/mnt/archive/$Y/../$M'));
    assert.match(at(list, '/targets/3/path'), /from the first placeholder on must not contain "\.\."/);
  });
});

describe('archive config helpers', () => {
  it('splitTemplatePath separates a local root from its folder template', () => {
    assert.deepEqual(splitTemplatePath('/mnt/archive/$Y/$M'), { root: '/mnt/archive', template: '$Y/$M' });
    assert.deepEqual(splitTemplatePath('/mnt/archive/Rec-$Y_$M/x'), { root: '/mnt/archive', template: 'Rec-$Y_$M/x' });
    assert.deepEqual(splitTemplatePath('/mnt/archive'), { root: '/mnt/archive', template: '' });
    assert.deepEqual(splitTemplatePath('/$Y'), { root: '/', template: '$Y' });
  });

  it('name the problem of a time zone, webhook and local path, or none', () => {
    assert.equal(timeZoneProblem('UTC'), undefined);
    assert.equal(timeZoneProblem('America/New_York'), undefined);
    assert.match(timeZoneProblem('Nowhere/Else') ?? '', /IANA/);
    assert.equal(webhookUrlProblem('https://example.com/hook'), undefined);
    assert.match(webhookUrlProblem('https://example.com/hook#x') ?? '', /fragment/);
    assert.equal(localPathProblem('/mnt/a/$Y'), undefined);
    assert.match(localPathProblem('/mnt/a/$Y/\u0000') ?? '', /control/);
  });
});

describe('installation.timestampUrl (RFC 3161 TSA)', () => {
  it('is optional and accepts http and https URLs', async () => {
    assert.equal((await valid()).config.installation.timestampUrl, undefined);
    const { config } = await valid((c) => {
      section(c, 'installation').timestampUrl = 'http://timestamp.example.com/tsa';
    });
    assert.equal(config.installation.timestampUrl, 'http://timestamp.example.com/tsa');
  });

  it('rejects other schemes at its JSON path', async () => {
    const list = await errors((c) => {
      section(c, 'installation').timestampUrl = 'ftp://tsa.example.com';
    });
    assert.match(at(list, '/installation/timestampUrl'), /http/);
  });
});
