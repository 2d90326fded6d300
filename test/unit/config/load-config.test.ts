import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  configSchemaPath,
  loadConfig,
  resolveSecret,
  validateConfig,
  type CallrecConfig,
  type ConfigError,
  type LoadConfigResult,
} from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

const examplePath = join(repoRoot, 'config', 'callrec.example.json');
let dir: string;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-config-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function example(): Promise<Json> {
  return JSON.parse(await readFile(examplePath, 'utf8')) as Json;
}

/** Writes a config (object or raw text) into the temp dir and loads it. */
async function load(content: Json | string): Promise<LoadConfigResult> {
  const file = join(dir, `config-${++counter}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return loadConfig(file);
}

/** Loads the example after `edit` and returns the errors (fails if it is valid). */
async function errorsAfter(edit: (config: Json) => void): Promise<ConfigError[]> {
  const config = await example();
  edit(config);
  const result = await load(config);
  assert.equal(result.ok, false, 'expected the config to be invalid');
  return result.ok ? [] : result.errors;
}

function valid(result: LoadConfigResult): CallrecConfig {
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.errors)}`);
  return result.config;
}

function at(errors: readonly ConfigError[], path: string): ConfigError {
  const found = errors.find((e) => e.path === path);
  assert.ok(found, `no error at ${path}; got ${JSON.stringify(errors)}`);
  return found;
}

// Navigation helpers for editing parsed JSON in tests.
function obj(value: unknown): Json {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
  return value as Json;
}
function arr(value: unknown): unknown[] {
  assert.ok(Array.isArray(value));
  return value;
}
function item(list: unknown, index: number): Json {
  return obj(arr(list)[index]);
}

describe('the example config', () => {
  it('is valid against the schema and the semantic checks', async () => {
    valid(await loadConfig(examplePath));
  });

  it('fills schema defaults for keys the file omits', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.deepEqual(config.sip.timers, { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 });
    assert.deepEqual(config.sip.limits, { maxMessageBytes: 65535, maxHeaders: 256, maxLineLength: 8192 });
    assert.equal(config.sip.tls.minVersion, 'TLSv1.2');
    assert.equal(config.trunk.onReject, '403');
    assert.equal(config.pbx.onReject, '403');
    assert.equal(config.featureCodes.groupLogin, '*52');
    assert.equal(config.profiles[1]?.recordDirectCallsToActiveMembers, false);
    assert.equal(config.profiles[1]?.consent.acceptDigit, '1');
    const cloud = config.targets.find((t) => t.id === 'cloud');
    assert.equal(cloud?.type === 'onedrive' ? cloud.tenant : undefined, 'common');
  });

  it('resolves relative paths against the config file directory', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.equal(config.installation.dataDir, join(repoRoot, 'config', 'var'));
    assert.equal(config.profiles[0]?.announcement.inbound, join(repoRoot, 'config', 'announcements', 'inbound.wav'));
    const archive = config.targets.find((t) => t.id === 'archive');
    assert.deepEqual(archive?.type === 'sftp' ? archive.privateKey : undefined, { file: '/etc/callrec/id_ed25519' });
  });

  it('is returned deeply frozen', async () => {
    const config = valid(await loadConfig(examplePath));
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.sip.listen[0]));
    assert.ok(Object.isFrozen(config.profiles[0]?.targets));
  });

  it('warns about targets no profile uses', async () => {
    const result = await loadConfig(examplePath);
    assert.ok(result.ok);
    assert.ok(result.warnings.includes("/targets/2: target 'cloud' is not used by any profile"));
  });

  it('uses the schema with an $id from config/', async () => {
    assert.equal(configSchemaPath(), join(repoRoot, 'config', 'callrec.schema.json'));
    const schema = JSON.parse(await readFile(configSchemaPath(), 'utf8')) as Json;
    assert.equal(typeof schema.$id, 'string');
  });
});

describe('schema errors carry the JSON path of the value', () => {
  it('reports a wrong type', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).port = '5060';
    });
    assert.deepEqual(errors, [{ path: '/sip/listen/0/port', message: 'must be an integer, not a string' }]);
  });

  it('reports an unknown key at the key itself, with a suggestion', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).prot = 5060;
    });
    assert.deepEqual(errors, [{ path: '/sip/listen/0/prot', message: "unknown key (did you mean 'port'?)" }]);
  });

  it('reports an unknown top-level key', async () => {
    const errors = await errorsAfter((c) => {
      c.recorder = {};
    });
    assert.equal(at(errors, '/recorder').message, 'unknown key');
  });

  it('reports a bad enum value with the allowed values', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 1).transport = 'sctp';
      item(c.profiles, 0).channels = 'mono';
      obj(item(c.profiles, 1).consent).legalBasis = 'maybe';
    });
    assert.equal(at(errors, '/sip/listen/1/transport').message, 'must be one of "udp", "tcp", "tls"');
    assert.match(at(errors, '/profiles/0/channels').message, /"both-stereo"/);
    assert.match(at(errors, '/profiles/1/consent/legalBasis').message, /"obligation", "consent", "opt-out"/);
  });

  it('reports a missing required key at the key path', async () => {
    const errors = await errorsAfter((c) => {
      delete obj(c.trunk).uri;
      delete obj(c.installation).keystorePassword;
    });
    assert.equal(at(errors, '/trunk/uri').message, 'required key is missing');
    assert.equal(at(errors, '/installation/keystorePassword').message, 'required key is missing');
  });

  it('reports a missing top-level section', async () => {
    const errors = await errorsAfter((c) => {
      delete c.sip;
    });
    assert.deepEqual(errors, [{ path: '/sip', message: 'required key is missing' }]);
  });

  it('reports ports outside 1..65535', async () => {
    const errors = await errorsAfter((c) => {
      item(obj(c.sip).listen, 0).port = 70000;
      obj(c.media).portRange = [0, 29999];
    });
    assert.equal(at(errors, '/sip/listen/0/port').message, 'must be <= 65535');
    assert.equal(at(errors, '/media/portRange/0').message, 'must be >= 1');
  });

  it('requires certificate and privateKey on a TLS listener', async () => {
    const errors = await errorsAfter((c) => {
      arr(obj(c.sip).listen).push({ transport: 'tls', host: '::', port: 5061 });
    });
    assert.deepEqual(errors, [
      { path: '/sip/listen/2/certificate', message: 'required key is missing' },
      { path: '/sip/listen/2/privateKey', message: 'required key is missing' },
    ]);
  });

  it('checks target keys per type', async () => {
    const errors = await errorsAfter((c) => {
      const [smb, sftp, onedrive] = [item(c.targets, 0), item(c.targets, 1), item(c.targets, 2)];
      delete smb.share;
      smb.privateKey = { file: 'key' };
      delete sftp.privateKey;
      onedrive.cloud = 'mars';
      arr(c.targets).push({ id: 'ftp', type: 'ftp', host: 'x' });
    });
    assert.equal(at(errors, '/targets/0/share').message, 'required key is missing');
    assert.match(at(errors, '/targets/0/privateKey').message, /^unknown key/);
    assert.equal(at(errors, '/targets/1/password').message, 'required key is missing');
    assert.match(at(errors, '/targets/2/cloud').message, /"global", "usgov"/);
    assert.match(at(errors, '/targets/4/type').message, /"smb", "sftp", "onedrive", "local"/);
  });

  it('rejects a share name with folders and an unknown folder placeholder', async () => {
    const errors = await errorsAfter((c) => {
      item(c.targets, 0).share = 'recordings/sub';
      item(c.targets, 0).folder = 'Rec-$Y-$d';
    });
    assert.match(at(errors, '/targets/0/share').message, /without folders/);
    assert.match(at(errors, '/targets/0/folder').message, /placeholders/);
  });

  it('reports a malformed secret once, without its content', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.installation).keystorePassword = { envv: 'CALLREC_KEYSTORE_PASSWORD' };
      item(c.targets, 0).password = 987654321;
    });
    assert.deepEqual(errors, [
      { path: '/installation/keystorePassword', message: 'must be a string, { "env": NAME } or { "file": path }' },
      { path: '/targets/0/password', message: 'must be a string, { "env": NAME } or { "file": path }' },
    ]);
  });

  it('requires refuseDigit for opt-out and routeTo for onRefusal route', async () => {
    const errors = await errorsAfter((c) => {
      item(c.profiles, 1).consent = { legalBasis: 'opt-out', onRefusal: 'route' };
    });
    assert.equal(at(errors, '/profiles/1/consent/refuseDigit').message, 'required key is missing');
    assert.equal(at(errors, '/profiles/1/consent/routeTo').message, 'required key is missing');
  });

  it('rejects non-E.164 numbers', async () => {
    const errors = await errorsAfter((c) => {
      item(c.users, 0).numbers = ['030123456201'];
    });
    assert.match(at(errors, '/users/0/numbers/0').message, /E\.164/);
  });

  it('reports every error of a file at once, in document order', async () => {
    const errors = await errorsAfter((c) => {
      item(c.targets, 3).path = 42;
      obj(c.installation).keySize = 1024;
      obj(c.trunk).addresses = ['not-an-address'];
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/installation/keySize', '/trunk/addresses/0', '/targets/3/path'],
    );
  });
});

describe('semantic checks', () => {
  it('rejects trunk/pbx entries that are not IP addresses or CIDR networks', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.trunk).addresses = ['198.51.100.0/33', '10.0.0.300', 'sbc.example.com', '2001:db8::/129', '10.0.0.0/8x'];
    });
    assert.deepEqual(
      errors.map((e) => e.path),
      ['/trunk/addresses/0', '/trunk/addresses/1', '/trunk/addresses/2', '/trunk/addresses/3', '/trunk/addresses/4'],
    );
    assert.equal(at(errors, '/trunk/addresses/0').message, 'prefix length must be 0 to 32');
    assert.equal(at(errors, '/trunk/addresses/3').message, 'prefix length must be 0 to 128');
    assert.match(at(errors, '/trunk/addresses/2').message, /IPv4\/IPv6 address or CIDR/);
  });

  it('accepts IPv4, IPv6 and IPv4-mapped addresses and networks', async () => {
    const config = await example();
    obj(config.trunk).addresses = ['198.51.100.0/24', '203.0.113.7', '2001:db8::/32', '2001:db8:1::5'];
    obj(config.pbx).addresses = ['::ffff:10.0.0.0/104', '10.0.0.5/32'];
    valid(await load(config));
  });

  it('checks that trunk and pbx URIs are sip:/sips: URIs', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.trunk).uri = 'http://198.51.100.1';
      obj(c.pbx).uri = 'sip:[2001:db8::zz]:5060';
    });
    assert.deepEqual(errors, [
      { path: '/trunk/uri', message: 'must be a sip: or sips: URI' },
      { path: '/pbx/uri', message: 'has an invalid IPv6 reference' },
    ]);
  });

  it('accepts sips:, IPv6 references, user parts and parameters', async () => {
    const config = await example();
    obj(config.trunk).uri = 'sips:carrier@sbc.example.net:5061;transport=tls';
    obj(config.pbx).uri = 'sip:[2001:db8::5]:5060;lr';
    valid(await load(config));
  });

  it('reports profile references to unknown targets, groups and users', async () => {
    const errors = await errorsAfter((c) => {
      item(c.profiles, 0).targets = ['nas', 'tape'];
      item(c.profiles, 0).groups = ['sales'];
      item(c.profiles, 1).users = ['carol'];
    });
    assert.deepEqual(errors, [
      { path: '/profiles/0/groups/0', message: "unknown group 'sales' (not in /groups)" },
      { path: '/profiles/0/targets/1', message: "unknown target 'tape' (not in /targets)" },
      { path: '/profiles/1/users/0', message: "unknown user 'carol' (not in /users)" },
    ]);
  });

  it('reports group members that are not users', async () => {
    const errors = await errorsAfter((c) => {
      item(c.groups, 0).members = ['alice', 'mallory'];
    });
    assert.deepEqual(errors, [{ path: '/groups/0/members/1', message: "unknown user 'mallory' (not in /users)" }]);
  });

  it('reports duplicate ids in users, groups, profiles and targets', async () => {
    const errors = await errorsAfter((c) => {
      item(c.users, 1).id = 'alice';
      arr(c.groups).push({ id: 'trading' });
      item(c.profiles, 1).id = 'trading';
      item(c.targets, 3).id = 'nas';
    });
    assert.equal(at(errors, '/users/1/id').message, "duplicate id 'alice' (first used at /users/0)");
    assert.equal(at(errors, '/groups/1/id').message, "duplicate id 'trading' (first used at /groups/0)");
    assert.equal(at(errors, '/profiles/1/id').message, "duplicate id 'trading' (first used at /profiles/0)");
    assert.equal(at(errors, '/targets/3/id').message, "duplicate id 'nas' (first used at /targets/0)");
  });

  it('reports a reversed port range, T2 below T1, clashing listeners and equal feature codes', async () => {
    const errors = await errorsAfter((c) => {
      obj(c.media).portRange = [30000, 20000];
      obj(c.sip).timers = { t1Ms: 500, t2Ms: 400 };
      arr(obj(c.sip).listen).push({
        transport: 'tls',
        host: '0.0.0.0',
        port: 5060,
        certificate: 'c.pem',
        privateKey: 'k.pem',
      });
      c.featureCodes = { groupLogin: '*51', groupLogout: '*51' };
    });
    assert.equal(at(errors, '/media/portRange').message, 'the first port must not be greater than the last');
    assert.equal(at(errors, '/sip/timers/t2Ms').message, 'must not be less than t1Ms');
    assert.equal(at(errors, '/sip/listen/2').message, 'binds the same TCP address and port as /sip/listen/1');
    assert.equal(at(errors, '/featureCodes/groupLogin').message, 'must differ from groupLogout');
  });

  it('warns about overlapping trunk and pbx networks and secrets in clear', async () => {
    const config = await example();
    obj(config.pbx).addresses = ['198.51.100.5'];
    obj(config.installation).keystorePassword = 'correct horse battery staple';
    const result = await load(config);
    assert.ok(result.ok);
    assert.ok(
      result.warnings.includes('/pbx/addresses/0: overlaps the trunk addresses; sources in both are treated as trunk'),
    );
    assert.ok(result.warnings.some((w) => w.startsWith('/installation/keystorePassword: secret is stored in clear')));
    assert.ok(result.warnings.every((w) => !w.includes('correct horse')));
  });
});

describe('reading the file', () => {
  it('reports a missing file with its path', async () => {
    const missing = join(dir, 'does-not-exist.json');
    const result = await loadConfig(missing);
    assert.deepEqual(result, { ok: false, errors: [{ path: '', message: `config file not found: ${missing}` }] });
  });

  it('reports a trailing comma with line and column', async () => {
    const result = await load('{\n  "log": { "level": "info" },\n  "sip": {},\n}\n');
    assert.deepEqual(result, {
      ok: false,
      errors: [{ path: '', message: "invalid JSON at line 4, column 1: trailing comma before '}'" }],
    });
  });

  it('reports a missing comma with line and column', async () => {
    const result = await load('{\n  "a": 1\n  "b": 2\n}');
    assert.ok(!result.ok);
    assert.equal(
      result.errors[0]?.message,
      "invalid JSON at line 3, column 3: unexpected '\"', expected ',' or '}' after a property value",
    );
  });

  it('reports an unterminated string and an empty file', async () => {
    const unterminated = await load('{\n  "a": "open\n}');
    assert.ok(!unterminated.ok);
    assert.equal(
      unterminated.errors[0]?.message,
      'invalid JSON at line 2, column 13: line break inside a string (missing closing quote?)',
    );
    const empty = await load('  \n');
    assert.ok(!empty.ok);
    assert.equal(empty.errors[0]?.message, 'invalid JSON: the file is empty');
  });

  it('explains comments and single quotes', async () => {
    const comment = await load('{\n  // note\n  "a": 1\n}');
    assert.ok(!comment.ok);
    assert.equal(comment.errors[0]?.message, 'invalid JSON at line 2, column 3: comments are not allowed in JSON');
    const quotes = await load("{ 'a': 1 }");
    assert.ok(!quotes.ok);
    assert.equal(
      quotes.errors[0]?.message,
      'invalid JSON at line 1, column 3: single quotes are not JSON; use double quotes',
    );
  });

  it('never quotes file content in a JSON error', async () => {
    const result = await load('{ "installation": { "keystorePassword": s3cr3t-Value } }');
    assert.ok(!result.ok);
    assert.equal(
      result.errors[0]?.message,
      'invalid JSON at line 1, column 41: unexpected character, expected a value',
    );
    assert.ok(!result.errors[0]?.message.includes('s3cr3t'));
  });

  it('reports duplicate keys by path', async () => {
    const text = (await readFile(examplePath, 'utf8')).replace('"keySize": 2048', '"keySize": 2048, "keySize": 4096');
    const result = await load(text);
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      { path: '/installation/keySize', message: 'duplicate key; only its last value would be used' },
    ]);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    valid(await load(`\uFEFF${await readFile(examplePath, 'utf8')}`));
  });

  it('resolves relative paths against the directory of the file', async () => {
    const sub = join(dir, 'etc');
    await mkdir(sub, { recursive: true });
    const config = await example();
    obj(config.installation).dataDir = 'data';
    obj(config.installation).keystorePassword = { file: 'secrets/keystore' };
    arr(obj(config.sip).listen).push({
      transport: 'tls',
      host: '::',
      port: 5061,
      certificate: 'tls/cert.pem',
      privateKey: '/abs/key.pem',
    });
    const file = join(sub, 'callrec.json');
    await writeFile(file, JSON.stringify(config));
    const loaded = valid(await loadConfig(file));
    assert.equal(loaded.installation.dataDir, join(sub, 'data'));
    assert.deepEqual(loaded.installation.keystorePassword, { file: join(sub, 'secrets', 'keystore') });
    assert.equal(loaded.sip.listen[2]?.certificate, join(sub, 'tls', 'cert.pem'));
    assert.equal(loaded.sip.listen[2]?.privateKey, '/abs/key.pem');
    assert.equal(loaded.targets[3]?.type === 'local' ? loaded.targets[3].path : undefined, '/mnt/archive/$Y/$M');
  });

  it('validateConfig leaves its input untouched', async () => {
    const config = await example();
    const copy = structuredClone(config);
    valid(validateConfig(config, dir));
    assert.deepEqual(config, copy);
  });
});

describe('resolveSecret', () => {
  it('returns a literal secret as is', async () => {
    assert.equal(await resolveSecret('plain', dir), 'plain');
  });

  it('reads an environment variable', async () => {
    assert.equal(
      await resolveSecret({ env: 'CALLREC_TEST_SECRET' }, dir, { env: { CALLREC_TEST_SECRET: 'v4lue' } }),
      'v4lue',
    );
  });

  it('names a missing environment variable', async () => {
    await assert.rejects(resolveSecret({ env: 'CALLREC_TEST_UNSET' }, dir, { env: {} }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'CONFIG_SECRET');
      assert.equal(error.message, 'environment variable CALLREC_TEST_UNSET is not set');
      return true;
    });
  });

  it('rejects an empty environment variable', async () => {
    await assert.rejects(resolveSecret({ env: 'X' }, dir, { env: { X: '' } }), { code: 'CONFIG_SECRET' });
  });

  it('reads a file relative to the base directory, without its trailing newline', async () => {
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'smb'), 'p@ss word\n');
    assert.equal(await resolveSecret({ file: 'secrets/smb' }, dir), 'p@ss word');
  });

  it('names an unreadable file and never the value', async () => {
    const missing = join(dir, 'secrets', 'missing');
    await assert.rejects(resolveSecret({ file: 'secrets/missing' }, dir), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'CONFIG_SECRET');
      assert.equal(error.message, `cannot read secret file ${missing} (ENOENT)`);
      return true;
    });
  });

  it('rejects an empty secret file without printing its content', async () => {
    await writeFile(join(dir, 'empty-secret'), '\n');
    await assert.rejects(resolveSecret({ file: 'empty-secret' }, dir), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.message, `secret file ${join(dir, 'empty-secret')} is empty`);
      return true;
    });
  });
});

describe('recording policy warnings', () => {
  async function warningsAfter(edit: (config: Json) => void): Promise<string[]> {
    const config = await example();
    edit(config);
    const result = await load(config);
    if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.errors)}`);
    return result.warnings;
  }
  const sameCalls = (warnings: readonly string[]): string[] => warnings.filter((w) => w.includes('match the same'));
  const copyOfTrading = (c: Json, changes: Json = {}): void => {
    arr(c.profiles).push({ ...structuredClone(item(c.profiles, 0)), id: 'trading-copy', ...changes });
  };

  it('are not raised for the example config', async () => {
    const result = await loadConfig(examplePath);
    assert.ok(result.ok);
    assert.deepEqual(sameCalls(result.warnings), []);
    assert.ok(result.warnings.every((w) => !w.startsWith('/groups/')));
  });

  it('warn when two enabled profiles match the same calls', async () => {
    const warnings = await warningsAfter((c) => copyOfTrading(c));
    assert.deepEqual(sameCalls(warnings), [
      '/profiles/2: profiles "trading" and "trading-copy" match the same calls; only the first will ever record',
    ]);
  });

  it('compare groups and users as sets', async () => {
    const warnings = await warningsAfter((c) => {
      item(c.profiles, 1).enabled = true;
      item(c.profiles, 1).outbound = true;
      item(c.profiles, 1).users = ['bob', 'alice'];
      arr(c.profiles).push({
        ...structuredClone(item(c.profiles, 1)),
        id: 'sq-copy',
        users: ['alice', 'bob', 'alice'],
      });
    });
    assert.deepEqual(sameCalls(warnings), [
      '/profiles/2: profiles "service-quality" and "sq-copy" match the same calls; only the first will ever record',
    ]);
  });

  it('do not warn when the profiles differ in a direction, a target or the direct-call option, or one is disabled', async () => {
    for (const changes of [
      { outbound: false },
      { groups: [], users: ['alice', 'bob'] },
      { recordDirectCallsToActiveMembers: false },
      { enabled: false },
    ]) {
      const warnings = await warningsAfter((c) => copyOfTrading(c, changes));
      assert.deepEqual(sameCalls(warnings), [], JSON.stringify(changes));
    }
  });

  it('do not count profiles that record nothing as matching the same calls', async () => {
    const warnings = await warningsAfter((c) => {
      copyOfTrading(c, { id: 'empty-1', groups: [], users: [] });
      copyOfTrading(c, { id: 'empty-2', groups: [], users: [] });
    });
    assert.deepEqual(sameCalls(warnings), []);
  });

  it("warn when a group number is a user's direct number", async () => {
    const warnings = await warningsAfter((c) => {
      item(c.groups, 0).numbers = ['+4930123456500', '+4930123456201'];
    });
    assert.ok(
      warnings.includes(
        '/groups/0/numbers/1: number +4930123456201 of group "trading" is also a number of user "alice" (/users/0/numbers/0)',
      ),
      JSON.stringify(warnings),
    );
    assert.ok(warnings.every((w) => !w.includes('is also assigned')));
  });

  it("warn when a group number is a user's company DID", async () => {
    const warnings = await warningsAfter((c) => {
      item(c.users, 1).numbers = [];
      item(c.groups, 0).numbers = ['+4930123456202'];
    });
    assert.ok(
      warnings.includes(
        '/groups/0/numbers/0: number +4930123456202 of group "trading" is also the direct dial of user "bob" (companyNumber + extension 202)',
      ),
      JSON.stringify(warnings),
    );
  });

  it('keep the general warning for a number given to two users or two groups', async () => {
    const warnings = await warningsAfter((c) => {
      item(c.users, 1).numbers = ['+4930123456201'];
      arr(c.groups).push({ id: 'desk', numbers: ['+4930123456500'] });
    });
    assert.ok(warnings.includes('/users/1/numbers/0: number +4930123456201 is also assigned at /users/0/numbers/0'));
    assert.ok(warnings.includes('/groups/1/numbers/0: number +4930123456500 is also assigned at /groups/0/numbers/0'));
  });
});
