import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadConfig, resolveSecret } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { writeFileAtomic } from '../../integrity/atomic-file.js';
import { describeCertificate, normalizePem, type CertificateInfo } from '../../integrity/certificate.js';
import { openKeyStore, type KeyStore } from '../../integrity/key-store.js';

/** Where the `cert` commands write: `log` for results, `error` for errors and warnings. */
export interface CertCommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** What every `cert` command needs: the installation settings, the password resolved. */
export interface CertCommandOptions {
  /** `installation.dataDir` (absolute). */
  readonly dataDir: string;
  /** `installation.keystorePassword`, resolved; never printed. */
  readonly password: string;
  /** `installation.keySize`, used only if the keystore does not exist yet. */
  readonly keySize: number;
  readonly out: CertCommandOutput;
}

/** Certificates and CSRs are public: written with mode 0644 (the keystore stays 0600). */
const PUBLIC_FILE_MODE = 0o644;

/**
 * The `cert` command options from a config file: loads it and resolves the keystore password.
 * Prints the problems and returns `undefined` when the config is invalid or the secret cannot be
 * read (exit with 2 then).
 */
export async function loadCertCommandOptions(
  configPath: string,
  out: CertCommandOutput,
): Promise<CertCommandOptions | undefined> {
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) out.error(`${error.path === '' ? '/' : error.path}: ${error.message}`);
    out.error(`callrec: invalid config ${configPath}`);
    return undefined;
  }
  const { installation } = loaded.config;
  try {
    const password = await resolveSecret(installation.keystorePassword, dirname(resolve(configPath)));
    return { dataDir: installation.dataDir, password, keySize: installation.keySize, out };
  } catch (error) {
    out.error(`/installation/keystorePassword: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/**
 * `callrec cert show`: prints the installation id, the verification certificate's subject,
 * issuer, serial, SHA-256 fingerprint and validity, the CA chain, then the PEM (leaf + chain).
 * Creates the keystore if there is none yet (as the first `run` would). 0 ok, 1 keystore
 * unusable (wrong password, corrupt), 2 I/O.
 */
export async function runCertShow(options: CertCommandOptions): Promise<number> {
  return withKeyStore('cert show', options, (keyStore) => {
    printCertificate(keyStore, options.out);
    options.out.log(keyStore.exportCertificatePem().trimEnd());
    return Promise.resolve(0);
  });
}

/**
 * `callrec cert export --out <pem>`: writes the verification certificate and its CA chain as
 * PEM to `outFile` (mode 0644, atomically; `-` prints it). 0 ok, 1 keystore unusable, 2 I/O.
 */
export async function runCertExport(options: CertCommandOptions & { readonly outFile: string }): Promise<number> {
  return withKeyStore('cert export', options, async (keyStore) => {
    const pem = keyStore.exportCertificatePem();
    if (options.outFile === '-') {
      options.out.log(pem.trimEnd());
      return 0;
    }
    await writeFileAtomic(options.outFile, pem, { mode: PUBLIC_FILE_MODE });
    const info = keyStore.describe();
    const count = 1 + keyStore.chainPem.length;
    options.out.log(
      `wrote ${count} certificate${count === 1 ? '' : 's'} to ${options.outFile} (mode 0644; SHA-256 fingerprint ${info.sha256Fingerprint})`,
    );
    return 0;
  });
}

/**
 * `callrec cert csr --out <file>`: writes a PKCS#10 certification request (PEM, mode 0644; `-`
 * prints it) for the installation's key, for a CA to sign. 0 ok, 1 keystore unusable, 2 I/O.
 */
export async function runCertCsr(options: CertCommandOptions & { readonly outFile: string }): Promise<number> {
  return withKeyStore('cert csr', options, async (keyStore) => {
    const csr = keyStore.createCsr();
    if (options.outFile === '-') {
      options.out.log(csr.trimEnd());
      return 0;
    }
    await writeFileAtomic(options.outFile, csr, { mode: PUBLIC_FILE_MODE });
    options.out.log(
      `wrote certification request for "${keyStore.describe().subject}" to ${options.outFile} (mode 0644)`,
    );
    options.out.log('have a CA sign it, then install the result with: callrec cert import <signed.pem>');
    return 0;
  });
}

/**
 * `callrec cert import <pem>`: installs a CA-signed certificate for the installation's key with
 * its CA chain (PEM blocks, or one DER certificate). Refuses a certificate for another key, one
 * not valid now, or a chain that does not link up — the keystore then stays unchanged.
 * 0 installed, 1 refused or keystore unusable, 2 file not readable / I/O.
 */
export async function runCertImport(options: CertCommandOptions & { readonly file: string }): Promise<number> {
  let text: string;
  try {
    text = certificateText(await readFile(options.file));
  } catch (error) {
    if (error instanceof AppError) {
      options.out.error(`callrec cert import: ${options.file}: ${error.message}`);
      return 1;
    }
    options.out.error(`callrec cert import: cannot read ${options.file}: ${(error as Error).message}`);
    return 2;
  }
  return withKeyStore('cert import', options, async (keyStore) => {
    const before = keyStore.describe().sha256Fingerprint;
    await keyStore.importCertificate(text);
    options.out.log(`installed certificate from ${options.file} (replacing ${before})`);
    printCertificate(keyStore, options.out);
    options.out.log('restart callrec so that recordings carry the new certificate; the signing key is unchanged');
    return 0;
  });
}

/** PEM text of an import file: PEM as is, a single DER certificate converted. */
function certificateText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (text.includes('-----BEGIN')) return text;
  if (bytes[0] === 0x30) return normalizePem(bytes); // DER SEQUENCE
  return text; // no certificate: importCertificate says so
}

/** The lines `cert show` and `cert import` print about the certificate (no PEM). */
function printCertificate(keyStore: KeyStore, out: CertCommandOutput): void {
  const info = keyStore.describe();
  out.log(`installation id: ${keyStore.installationId}`);
  out.log(`keystore: ${keyStore.path} (RSA ${keyStore.keySize} bits${keyStore.created ? ', created now' : ''})`);
  printInfo(info, out, '');
  const chain = keyStore.chainPem;
  out.log(`chain: ${chain.length === 0 ? 'none' : `${chain.length} CA certificate${chain.length === 1 ? '' : 's'}`}`);
  chain.forEach((pem, index) => {
    out.log(`CA certificate ${index + 1}:`);
    printInfo(describeCertificate(pem), out, '  ');
  });
}

function printInfo(info: CertificateInfo, out: CertCommandOutput, indent: string): void {
  out.log(`${indent}subject: ${info.subject}`);
  out.log(`${indent}issuer: ${info.issuer}${info.selfSigned ? ' (self-signed)' : ''}`);
  out.log(`${indent}serial: ${info.serialHex}`);
  out.log(`${indent}sha256 fingerprint: ${info.sha256Fingerprint}`);
  out.log(`${indent}valid from: ${info.notBefore}`);
  out.log(`${indent}valid until: ${info.notAfter}`);
}

/** Opens the keystore, runs `action`, maps AppErrors to exit codes and messages (never the password). */
async function withKeyStore(
  command: string,
  options: CertCommandOptions,
  action: (keyStore: KeyStore) => Promise<number>,
): Promise<number> {
  try {
    const keyStore = await openKeyStore({
      dataDir: options.dataDir,
      password: options.password,
      keySize: options.keySize,
    });
    for (const warning of keyStore.warnings) options.out.error(`warning: ${warning}`);
    return await action(keyStore);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    options.out.error(`callrec ${command}: ${error.message}`);
    return error.code === 'INTEGRITY_IO' ? 2 : 1;
  }
}

/**
 * The fields of the start-up log line about the verification certificate (SPEC §5, §11):
 * `logger.info(certificateLogFields(keyStore), 'verification certificate')`. No secrets.
 */
export function certificateLogFields(keyStore: KeyStore): Record<string, unknown> {
  const info = keyStore.describe();
  return {
    installationId: keyStore.installationId,
    keystore: keyStore.path,
    keySize: keyStore.keySize,
    created: keyStore.created,
    subject: info.subject,
    issuer: info.issuer,
    serial: info.serialHex,
    sha256Fingerprint: info.sha256Fingerprint,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    selfSigned: info.selfSigned,
    chain: keyStore.chainPem.map((pem) => describeCertificate(pem).subject),
    pem: keyStore.exportCertificatePem(),
  };
}
