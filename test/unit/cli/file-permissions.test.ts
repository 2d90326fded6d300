/**
 * Permission checks at start (SPEC §4 security, §7 privacy by default): the config must not be
 * writable by group or others; the keystore, `{ "file": … }` secrets and TLS private keys must not
 * be open to others (error: `callrec run` refuses to start, exit 1) and should not be open to the
 * group (warning); the data and spool folders should be 0700. `config check` prints all of them as
 * warnings. Real files in a temp folder, modes set with chmod.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runConfigCheck } from '../../../src/cli/commands/config-check.js';
import { checkFilePermissions, type PermissionFinding } from '../../../src/cli/file-permissions.js';
import { loadConfig, type CallrecConfig } from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

type Json = Record<string, unknown>;

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-permissions-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Setup {
  readonly dir: string;
  readonly configPath: string;
  readonly dataDir: string;
  readonly keystore: string;
  readonly secret: string;
  readonly tlsKey: string;
  config(): Promise<CallrecConfig>;
}

/**
 * The example config with a keystore password `{ file }`, a TLS listener with a private key and
 * its own dataDir holding a keystore: every file 0600, every folder 0700 — nothing to report.
 */
async function setup(edit: (config: Json) => void = () => undefined): Promise<Setup> {
  const dir = join(root, String(++counter));
  const dataDir = join(dir, 'var');
  await mkdir(join(dataDir, 'recordings'), { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const keystore = join(dataDir, 'keystore.p12');
  const secret = join(dir, 'keystore-password');
  const tlsKey = join(dir, 'tls.key');
  const certificate = join(dir, 'tls.crt');
  for (const file of [keystore, secret, tlsKey, certificate]) await writeFile(file, 'x\n', { mode: 0o600 });
  const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Json;
  delete config['$schema'];
  config['installation'] = { dataDir, keystorePassword: { file: 'keystore-password' } };
  (config['sip'] as Json)['listen'] = [
    { transport: 'udp', host: '127.0.0.1', port: 5060 },
    { transport: 'tls', host: '127.0.0.1', port: 5061, certificate, privateKey: 'tls.key' },
  ];
  edit(config);
  const configPath = join(dir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  await chmod(configPath, 0o600);
  return {
    dir,
    configPath,
    dataDir,
    keystore,
    secret,
    tlsKey,
    config: async () => {
      const loaded = await loadConfig(configPath);
      assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
      return loaded.config;
    },
  };
}

async function findings(setup: Setup): Promise<PermissionFinding[]> {
  return checkFilePermissions(await setup.config(), setup.configPath);
}

describe('checkFilePermissions', () => {
  it('finds nothing when files are 0600 and folders 0700', async () => {
    assert.deepEqual(await findings(await setup()), []);
  });

  it('refuses a config writable by its group, naming the file, the mode and the fix', async () => {
    const bed = await setup();
    await chmod(bed.configPath, 0o664);
    assert.deepEqual(await findings(bed), [
      {
        severity: 'error',
        file: bed.configPath,
        mode: 0o664,
        message: `/: config file ${bed.configPath} has mode 0664: writable by its group, who could change who is recorded; run chmod go-w ${bed.configPath}`,
      },
    ]);
  });

  it('refuses a config writable by others', async () => {
    const bed = await setup();
    await chmod(bed.configPath, 0o602);
    const [finding] = await findings(bed);
    assert.equal(finding?.severity, 'error');
    assert.match(finding?.message ?? '', /writable by others/);
  });

  it('accepts a config readable by others when it holds no literal secret', async () => {
    const bed = await setup();
    await chmod(bed.configPath, 0o644);
    assert.deepEqual(await findings(bed), []);
  });

  it('warns about a config readable by others that holds a literal secret', async () => {
    const bed = await setup((config) => {
      (config['installation'] as Json)['keystorePassword'] = 'literal-secret';
    });
    await chmod(bed.configPath, 0o644);
    const list = await findings(bed);
    assert.equal(list.length, 1);
    assert.equal(list[0]?.severity, 'warning');
    assert.match(list[0]?.message ?? '', /readable by others and holds literal secrets; run chmod 600/);
    assert.ok(!(list[0]?.message ?? '').includes('literal-secret'), 'the secret itself is never printed');
  });

  it('refuses a keystore readable by others: error with the path, mode and chmod 600', async () => {
    const bed = await setup();
    await chmod(bed.keystore, 0o644);
    assert.deepEqual(await findings(bed), [
      {
        severity: 'error',
        file: bed.keystore,
        mode: 0o644,
        message: `/installation/dataDir: keystore ${bed.keystore} has mode 0644: readable by others; run chmod 600 ${bed.keystore}`,
      },
    ]);
  });

  it('refuses a secret file or TLS private key readable or writable by others', async () => {
    const bed = await setup();
    await chmod(bed.secret, 0o604);
    await chmod(bed.tlsKey, 0o602);
    const list = await findings(bed);
    assert.deepEqual(
      list.map((f) => [f.severity, f.file, f.message.split(': ')[0]]),
      [
        ['error', bed.secret, '/installation/keystorePassword'],
        ['error', bed.tlsKey, '/sip/listen/1/privateKey'],
      ],
    );
    assert.match(list[0]?.message ?? '', /secret file .* has mode 0604: readable by others; run chmod 600/);
    assert.match(list[1]?.message ?? '', /TLS private key .* has mode 0602: writable by others/);
  });

  it('warns about key files open to the group', async () => {
    const bed = await setup();
    await chmod(bed.keystore, 0o640);
    await chmod(bed.tlsKey, 0o660);
    const list = await findings(bed);
    assert.deepEqual(
      list.map((f) => [f.severity, f.file]),
      [
        ['warning', bed.keystore],
        ['warning', bed.tlsKey],
      ],
    );
    assert.match(list[0]?.message ?? '', /accessible by its group; run chmod 600/);
  });

  it('warns about data and spool folders open to group or others', async () => {
    const bed = await setup();
    await chmod(bed.dataDir, 0o755);
    await chmod(join(bed.dataDir, 'recordings'), 0o750);
    const list = await findings(bed);
    assert.deepEqual(
      list.map((f) => [f.severity, f.mode]),
      [
        ['warning', 0o755],
        ['warning', 0o750],
      ],
    );
    assert.match(list[0]?.message ?? '', /data directory .* has mode 0755: .*run chmod 700/);
    assert.match(list[1]?.message ?? '', /spool directory/);
  });

  it('ignores files that do not exist yet (first start: no keystore, no data folder)', async () => {
    const bed = await setup();
    await rm(bed.dataDir, { recursive: true });
    assert.deepEqual(await findings(bed), []);
  });

  it('judges the mode of what a symbolic link points to', async () => {
    const bed = await setup();
    const seen: string[] = [];
    const list = await checkFilePermissions(await bed.config(), bed.configPath, {
      stat: (path) => {
        seen.push(path);
        return Promise.resolve({ mode: 0o100644 });
      },
    });
    const keyFiles = [bed.keystore, bed.secret, bed.tlsKey];
    assert.ok(keyFiles.every((file) => seen.includes(file)));
    assert.deepEqual(
      list.filter((f) => f.severity === 'error' && keyFiles.includes(f.file)).map((f) => f.file),
      keyFiles,
    );
  });
});

describe('config check and callrec run with unsafe modes', () => {
  it('config check prints the findings as warnings and still exits 0', async () => {
    const bed = await setup();
    await chmod(bed.keystore, 0o644);
    const out = { log: [] as string[], error: [] as string[] };
    const code = await runConfigCheck(bed.configPath, {
      log: (line) => out.log.push(line),
      error: (line) => out.error.push(line),
    });
    assert.equal(code, 0);
    assert.ok(
      out.error.includes(
        `warning: /installation/dataDir: keystore ${bed.keystore} has mode 0644: readable by others; run chmod 600 ${bed.keystore}`,
      ),
      out.error.join('\n'),
    );
  });

  it('callrec run refuses to start with exit 1, naming the file, the mode and the fix', async () => {
    const bed = await setup();
    await chmod(bed.secret, 0o644);
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'run', '--config', bed.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 1, `${stderr}\n${stdout}`);
    assert.match(stderr, new RegExp(`secret file ${bed.secret} has mode 0644: readable by others; run chmod 600 `));
    assert.match(stderr, /unsafe file permissions; nothing started/);
    assert.ok(!stdout.includes('"msg":"listening"'), 'nothing was started');
  });
});
