/**
 * The CLI as admins use it: `callrec config check` exit codes and JSON-path error lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../test/support/paths.js';

function callrec(...args: string[]) {
  return spawnSync(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], { encoding: 'utf8' });
}

describe('callrec config check', () => {
  it('accepts the shipped example with exit 0', () => {
    const result = callrec('config', 'check', '--config', join(repoRoot, 'config', 'callrec.example.json'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /config OK/);
  });

  it('reports each error with its JSON path and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callrec-cli-'));
    try {
      const config = JSON.parse(readFileSync(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as {
        sip: { listen: Array<{ port: unknown }> };
        trunk: { addresses: string[] };
      };
      config.sip.listen[0]!.port = 'five';
      config.trunk.addresses = ['not-an-ip/99'];
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify(config));
      const result = callrec('config', 'check', '--config', path);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^\/sip\/listen\/0\/port: /m);
      assert.match(result.stderr, /^\/trunk\/addresses\/0: /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses CALLREC_CONFIG when --config is absent', () => {
    const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'config', 'check'], {
      encoding: 'utf8',
      env: { ...process.env, CALLREC_CONFIG: join(repoRoot, 'config', 'callrec.example.json') },
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('refuses to start `run` on an invalid config and says why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callrec-cli-'));
    try {
      const path = join(dir, 'broken.json');
      writeFileSync(path, '{ "installation": ');
      const result = callrec('run', '--config', path);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /nothing started/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('callrec cert and the keystore at start', () => {
  function installation() {
    const dir = mkdtempSync(join(tmpdir(), 'callrec-cert-'));
    const config = JSON.parse(readFileSync(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const path = join(dir, 'callrec.json');
    const write = (password: string) => {
      writeFileSync(join(dir, 'pw'), password, { mode: 0o600 });
      writeFileSync(
        path,
        JSON.stringify({
          ...config,
          installation: { dataDir: join(dir, 'data'), keystorePassword: { file: join(dir, 'pw') }, keySize: 2048 },
          sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 1 }] },
          admin: { http: { host: '127.0.0.1', port: 1 } },
        }),
      );
    };
    return { dir, path, write };
  }

  it('creates the keystore on first use, shows and exports the certificate', () => {
    const { dir, path, write } = installation();
    try {
      write('correct horse battery staple');
      const show = callrec('cert', 'show', '--config', path);
      assert.equal(show.status, 0, show.stderr);
      assert.match(show.stdout, /-----BEGIN CERTIFICATE-----/);
      const fingerprint = /([0-9A-F]{2}(?::[0-9A-F]{2}){31})/.exec(show.stdout)?.[1];
      assert.ok(fingerprint, 'a SHA-256 fingerprint is printed');
      const pem = join(dir, 'cert.pem');
      const exported = callrec('cert', 'export', '--out', pem, '--config', path);
      assert.equal(exported.status, 0, exported.stderr);
      const openssl = spawnSync('openssl', ['x509', '-in', pem, '-noout', '-fingerprint', '-sha256', '-subject'], {
        encoding: 'utf8',
      });
      assert.ok(openssl.stdout.includes(fingerprint!), openssl.stdout);
      assert.match(openssl.stdout, /CN ?= ?callrec [0-9a-f-]{36}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a wrong keystore password, saying so without the password', () => {
    const { dir, path, write } = installation();
    try {
      write('the-right-one');
      assert.equal(callrec('cert', 'show', '--config', path).status, 0);
      const before = readFileSync(join(dir, 'data', 'keystore.p12'));
      write('a-wrong-one');
      const run = callrec('run', '--config', path);
      assert.equal(run.status, 1);
      assert.match(run.stdout + run.stderr, /keystore/i);
      assert.ok(!(run.stdout + run.stderr).includes('a-wrong-one'), 'the password is never printed');
      assert.deepEqual(readFileSync(join(dir, 'data', 'keystore.p12')), before, 'nothing overwritten');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('callrec verify (process) on a recording sealed with the installation key', () => {
  it('exits 0 for the sealed folder, 1 after a flipped byte, 2 for a missing folder', async () => {
    const { openKeyStore, sealRecording } = await import('../src/integrity/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'callrec-verify-'));
    try {
      const keyStore = await openKeyStore({ dataDir: join(dir, 'data'), password: 'verify-test' });
      const folder = join(dir, 'recording');
      mkdirSync(folder);
      const id = '20261123-101500-abcd';
      const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4000, 7)]);
      writeFileSync(join(folder, `${id}.wav`), wav);
      await sealRecording({
        dir: folder,
        id,
        audioFiles: [`${id}.wav`],
        metadata: { id, direction: 'inbound' },
        signer: keyStore,
      });
      writeFileSync(join(folder, 'cert.pem'), keyStore.exportCertificatePem());
      const good = callrec('verify', folder);
      assert.equal(good.status, 0, good.stdout + good.stderr);
      assert.match(good.stdout, new RegExp(`OK ${id}`));
      const shell = spawnSync('bash', [join(repoRoot, 'bin', 'verify.sh'), folder, join(folder, 'cert.pem')], {
        encoding: 'utf8',
      });
      assert.equal(shell.status, 0, shell.stdout + shell.stderr);
      wav[100] = (wav[100] ?? 0) ^ 0xff;
      writeFileSync(join(folder, `${id}.wav`), wav);
      const bad = callrec('verify', folder);
      assert.equal(bad.status, 1);
      assert.match(bad.stdout, new RegExp(`FAIL ${id}`));
      assert.equal(callrec('verify', join(dir, 'missing')).status, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
