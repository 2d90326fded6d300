// `callrec cert show | export --out | csr --out | import <pem>` (SPEC §5, §11), through the run*
// functions the CLI calls: what they print, the files they write (certificate and CSR are
// public: mode 0644), and their exit codes — 0 ok, 1 refused / keystore unusable, 2 I/O.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  certificateLogFields,
  loadCertCommandOptions,
  runCertCsr,
  runCertExport,
  runCertImport,
  runCertShow,
  type CertCommandOptions,
} from '../../../src/cli/commands/cert.js';
import { KEYSTORE_FILE, openKeyStore } from '../../../src/integrity/key-store.js';
import { repoRoot } from '../../support/paths.js';

const PASSWORD = 'cert-command-password';

interface Captured {
  readonly log: string[];
  readonly error: string[];
}

let root: string;
let counter = 0;
let sharedDataDir: string;

function openssl(args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function path(name: string): string {
  return join(root, `${++counter}-${name}`);
}

/** Options for a copy of the shared keystore, and what the command printed. */
async function setup(password = PASSWORD): Promise<{ options: CertCommandOptions; out: Captured; dataDir: string }> {
  const dataDir = path('data');
  await mkdir(dataDir, { mode: 0o700 });
  await copyFile(join(sharedDataDir, KEYSTORE_FILE), join(dataDir, KEYSTORE_FILE));
  const out: Captured = { log: [], error: [] };
  const options: CertCommandOptions = {
    dataDir,
    password,
    keySize: 2048,
    out: { log: (line) => out.log.push(line), error: (line) => out.error.push(line) },
  };
  return { options, out, dataDir };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'callrec-cert-command-'));
  sharedDataDir = path('shared');
  await openKeyStore({ dataDir: sharedDataDir, password: PASSWORD });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('cert show', () => {
  it('prints id, subject, issuer, serial, SHA-256 fingerprint, validity and the PEM; exit 0', async () => {
    const { options, out } = await setup();
    assert.equal(await runCertShow(options), 0);
    const keyStore = await openKeyStore({ dataDir: options.dataDir, password: PASSWORD });
    const info = keyStore.describe();
    const text = out.log.join('\n');
    assert.match(text, new RegExp(`^installation id: ${keyStore.installationId}$`, 'm'));
    assert.match(text, new RegExp(`^subject: O=callrec, CN=callrec ${keyStore.installationId}$`, 'm'));
    assert.match(text, /^issuer: .* \(self-signed\)$/m);
    assert.match(text, new RegExp(`^serial: ${info.serialHex}$`, 'm'));
    assert.match(text, new RegExp(`^sha256 fingerprint: ${info.sha256Fingerprint}$`, 'm'));
    assert.match(text, new RegExp(`^valid from: ${info.notBefore}$`, 'm'));
    assert.match(text, new RegExp(`^valid until: ${info.notAfter}$`, 'm'));
    assert.match(text, /^chain: none$/m);
    assert.ok(text.includes(info.pem.trimEnd()));
    assert.deepEqual(out.error, []);
    assert.ok(!text.includes(PASSWORD));
  });

  it('creates the keystore on a fresh installation', async () => {
    const out: Captured = { log: [], error: [] };
    const dataDir = join(path('fresh'), 'data');
    const code = await runCertShow({
      dataDir,
      password: PASSWORD,
      keySize: 2048,
      out: { log: (line) => out.log.push(line), error: (line) => out.error.push(line) },
    });
    assert.equal(code, 0);
    assert.match(out.log.join('\n'), /created now/);
    assert.equal((await stat(join(dataDir, KEYSTORE_FILE))).mode & 0o777, 0o600);
  });

  it('exits 1 with a clear message on a wrong password, never printing it', async () => {
    const { options, out } = await setup('not-the-password');
    assert.equal(await runCertShow(options), 1);
    assert.deepEqual(out.log, []);
    assert.equal(out.error.length, 1);
    assert.match(out.error[0] ?? '', /^callrec cert show: wrong keystore password/);
    assert.ok(!out.error[0]?.includes('not-the-password'));
  });

  it('exits 1 on a corrupt keystore', async () => {
    const { options, out, dataDir } = await setup();
    await writeFile(join(dataDir, KEYSTORE_FILE), 'garbage');
    assert.equal(await runCertShow(options), 1);
    assert.match(out.error.join('\n'), /unreadable/);
  });
});

describe('cert export', () => {
  it('writes the certificate PEM with mode 0644 that openssl reads; exit 0', async () => {
    const { options, out } = await setup();
    const outFile = path('cert.pem');
    assert.equal(await runCertExport({ ...options, outFile }), 0);
    assert.equal((await stat(outFile)).mode & 0o777, 0o644);
    const keyStore = await openKeyStore({ dataDir: options.dataDir, password: PASSWORD });
    assert.equal(await readFile(outFile, 'utf8'), keyStore.exportCertificatePem());
    assert.match(
      out.log.join('\n'),
      /wrote 1 certificate to .*cert\.pem \(mode 0644; SHA-256 fingerprint [0-9A-F:]{95}\)/,
    );
    const fingerprint = openssl(['x509', '-in', outFile, '-noout', '-fingerprint', '-sha256']).trim();
    assert.equal(fingerprint, `sha256 Fingerprint=${keyStore.describe().sha256Fingerprint}`);
  });

  it('prints the PEM for --out -', async () => {
    const { options, out } = await setup();
    assert.equal(await runCertExport({ ...options, outFile: '-' }), 0);
    assert.match(out.log.join('\n'), /^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----$/);
  });

  it('exits 2 when the file cannot be written', async () => {
    const { options, out } = await setup();
    assert.equal(await runCertExport({ ...options, outFile: join(root, 'missing-dir', 'cert.pem') }), 2);
    assert.match(out.error.join('\n'), /cannot write .*missing-dir/);
  });
});

describe('cert csr and cert import', () => {
  it('writes a CSR (0644) a CA signs; import installs the chain; exit 0', async () => {
    const { options, out, dataDir } = await setup();
    const csrFile = path('req.csr');
    assert.equal(await runCertCsr({ ...options, outFile: csrFile }), 0);
    assert.equal((await stat(csrFile)).mode & 0o777, 0o644);
    assert.match(out.log.join('\n'), /callrec cert import/);
    openssl(['req', '-in', csrFile, '-noout', '-verify']);

    const caKey = path('ca.key');
    const caCert = path('ca.pem');
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-subj',
      '/O=Test/CN=Command CA',
      '-days',
      '30',
    ]);
    const signed = path('signed.pem');
    openssl([
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '10',
      '-out',
      signed,
    ]);
    const bundle = path('bundle.pem');
    await writeFile(bundle, (await readFile(signed, 'utf8')) + (await readFile(caCert, 'utf8')));

    out.log.length = 0;
    assert.equal(await runCertImport({ ...options, file: bundle }), 0, out.error.join('\n'));
    const text = out.log.join('\n');
    assert.match(text, /^installed certificate from .*bundle\.pem \(replacing [0-9A-F:]{95}\)$/m);
    assert.match(text, /^issuer: O=Test, CN=Command CA$/m);
    assert.match(text, /^chain: 1 CA certificate$/m);
    assert.match(text, /^ {2}subject: O=Test, CN=Command CA$/m);

    const exported = path('export.pem');
    assert.equal(await runCertExport({ ...options, outFile: exported }), 0);
    const pems =
      (await readFile(exported, 'utf8')).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g) ?? [];
    assert.equal(pems.length, 2);
    assert.equal(new X509Certificate(pems[1] ?? '').subject, 'O=Test\nCN=Command CA');
    assert.equal((await stat(join(dataDir, KEYSTORE_FILE))).mode & 0o777, 0o600);
  });

  it('accepts a DER certificate file', async () => {
    const { options } = await setup();
    const keyStore = await openKeyStore({ dataDir: options.dataDir, password: PASSWORD });
    const der = path('self.der');
    await writeFile(der, new X509Certificate(keyStore.certificatePem).raw);
    assert.equal(await runCertImport({ ...options, file: der }), 0);
  });

  it('refuses a certificate for another key: exit 1, keystore unchanged', async () => {
    const { options, out, dataDir } = await setup();
    const before = await readFile(join(dataDir, KEYSTORE_FILE));
    const other = await openKeyStore({ dataDir: path('other'), password: PASSWORD });
    const foreign = path('foreign.pem');
    await writeFile(foreign, other.certificatePem);
    assert.equal(await runCertImport({ ...options, file: foreign }), 1);
    assert.match(out.error.join('\n'), /^callrec cert import: the certificate .* is not for this installation's key/m);
    assert.deepEqual(await readFile(join(dataDir, KEYSTORE_FILE)), before);
  });

  it('exits 2 when the file to import cannot be read, 1 when it holds no certificate', async () => {
    const { options, out } = await setup();
    assert.equal(await runCertImport({ ...options, file: path('missing.pem') }), 2);
    assert.match(out.error.join('\n'), /cannot read .*missing\.pem/);
    const empty = path('empty.pem');
    await writeFile(empty, 'no certificate here\n');
    assert.equal(await runCertImport({ ...options, file: empty }), 1);
    assert.match(out.error.join('\n'), /no PEM certificate found/);
  });
});

describe('wiring helpers', () => {
  it('loads dataDir, keySize and the resolved password from a config file', async () => {
    const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as {
      installation: Record<string, unknown>;
    };
    const dataDir = path('configured');
    const passwordFile = path('keystore-password');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    example.installation = {
      ...example.installation,
      dataDir,
      keystorePassword: { file: passwordFile },
      keySize: 3072,
    };
    const configFile = path('callrec.json');
    await writeFile(configFile, JSON.stringify(example));
    const out: Captured = { log: [], error: [] };
    const sink = { log: (line: string) => out.log.push(line), error: (line: string) => out.error.push(line) };
    const options = await loadCertCommandOptions(configFile, sink);
    assert.ok(options, out.error.join('\n'));
    assert.equal(options.dataDir, dataDir);
    assert.equal(options.password, PASSWORD);
    assert.equal(options.keySize, 3072);

    example.installation = { ...example.installation, keystorePassword: { env: 'CALLREC_TEST_UNSET_PASSWORD_VAR' } };
    await writeFile(configFile, JSON.stringify(example));
    delete process.env['CALLREC_TEST_UNSET_PASSWORD_VAR'];
    assert.equal(await loadCertCommandOptions(configFile, sink), undefined);
    assert.match(
      out.error.join('\n'),
      /\/installation\/keystorePassword: environment variable CALLREC_TEST_UNSET_PASSWORD_VAR is not set/,
    );
  });

  it('gives the start-up log fields of the certificate, without secrets', async () => {
    const keyStore = await openKeyStore({ dataDir: sharedDataDir, password: PASSWORD });
    const fields = certificateLogFields(keyStore);
    const info = keyStore.describe();
    assert.equal(fields['sha256Fingerprint'], info.sha256Fingerprint);
    assert.equal(fields['serial'], info.serialHex);
    assert.equal(fields['notAfter'], info.notAfter);
    assert.equal(fields['pem'], keyStore.exportCertificatePem());
    const json = JSON.stringify(fields);
    assert.ok(!json.includes(PASSWORD) && !json.includes('PRIVATE KEY'));
  });
});
