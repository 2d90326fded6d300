import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, validateConfig } from '../../../src/config/index.js';
import { examplePath, dir, useTempDir, example, load, valid, obj, arr } from './load-config-fixtures.js';

useTempDir();

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
