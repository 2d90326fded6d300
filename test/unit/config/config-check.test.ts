import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runConfigCheck } from '../../../src/cli/commands/config-check.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

interface Captured {
  readonly log: string[];
  readonly error: string[];
}

let dir: string;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callrec-config-check-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function example(): Promise<Json> {
  return JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
}

async function write(content: Json | string): Promise<string> {
  const file = join(dir, `callrec-${++counter}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

async function check(path: string): Promise<{ code: number; out: Captured }> {
  const out: Captured = { log: [], error: [] };
  const code = await runConfigCheck(path, { log: (line) => out.log.push(line), error: (line) => out.error.push(line) });
  return { code, out };
}

describe('config check', () => {
  it('returns 0 and prints "config OK: <path>" for a valid config, warnings after it', async () => {
    const file = await write(await example());
    const { code, out } = await check(file);
    assert.equal(code, 0);
    assert.deepEqual(out.log, [`config OK: ${file}`]);
    assert.ok(out.error.length > 0);
    assert.ok(
      out.error.every((line) => line.startsWith('warning: /')),
      out.error.join('\n'),
    );
    assert.ok(out.error.includes("warning: /targets/2: target 'cloud' is not used by any profile"));
  });

  it('returns 1 and prints one "<path>: <message>" line per error', async () => {
    const config = await example();
    const sip = config.sip as { listen: Json[] };
    (sip.listen[0] as Json).port = '5060';
    (sip.listen[1] as Json).transport = 'sctp';
    const { code, out } = await check(await write(config));
    assert.equal(code, 1);
    assert.deepEqual(out.log, []);
    assert.deepEqual(out.error, [
      '/sip/listen/0/port: must be an integer, not a string',
      '/sip/listen/1/transport: must be one of "udp", "tcp", "tls"',
    ]);
  });

  it('shows errors about the whole file at path /', async () => {
    const missing = join(dir, 'nope.json');
    assert.deepEqual(await check(missing), {
      code: 1,
      out: { log: [], error: [`/: config file not found: ${missing}`] },
    });
    const broken = await check(await write('{ "sip": { } '));
    assert.equal(broken.code, 1);
    assert.deepEqual(broken.out.error, [
      "/: invalid JSON at line 1, column 14: unexpected end of file, expected ',' or '}' after a property value",
    ]);
  });

  it('warns about secrets this machine cannot resolve, naming the source only', async () => {
    const config = await example();
    const name = `CALLREC_CHECK_TEST_${process.pid}`;
    (config.installation as Json).keystorePassword = { env: name };
    await writeFile(join(dir, 'smb-password'), 'Sup3rS3cret!\n', { mode: 0o600 }); // 0644 would be warned about
    const targets = config.targets as Json[];
    (targets[0] as Json).password = { file: 'smb-password' };
    const file = await write(config);

    const unset = await check(file);
    assert.equal(unset.code, 0);
    assert.ok(
      unset.out.error.includes(`warning: /installation/keystorePassword: environment variable ${name} is not set`),
    );
    assert.ok(!unset.out.error.some((line) => line.startsWith('warning: /targets/0/password')));

    process.env[name] = 'ValueThatMustNotLeak';
    try {
      const set = await check(file);
      assert.equal(set.code, 0);
      assert.ok(!set.out.error.some((line) => line.startsWith('warning: /installation/keystorePassword')));
      const all = [...set.out.log, ...set.out.error, ...unset.out.error].join('\n');
      assert.ok(!all.includes('ValueThatMustNotLeak'));
      assert.ok(!all.includes('Sup3rS3cret'));
    } finally {
      Reflect.deleteProperty(process.env, name);
    }
  });

  it('does not print a literal secret when the config is invalid', async () => {
    const config = await example();
    (config.installation as Json).keystorePassword = 'Literal-Secret-42';
    (config.installation as Json).keySize = 'Literal-Secret-42';
    const { code, out } = await check(await write(config));
    assert.equal(code, 1);
    assert.deepEqual(out.error, ['/installation/keySize: must be an integer, not a string']);
  });
});
