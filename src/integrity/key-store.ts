import { createPublicKey, createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import {
  certificateMatchesKey,
  createCertificationRequest,
  createSelfSignedCertificate,
  describeCertificate,
  isIssuedBy,
  isSelfSigned,
  parseCertificate,
  splitPemCertificates,
  validityOf,
  type CertificateInfo,
} from './certificate.js';
import { decodeKeystore, encodeVerifiedKeystore, type KeystoreContents } from './keystore-codec.js';
import type { RecordingSigner } from './recording-signer.js';

export type { CertificateInfo } from './certificate.js';

/** File name of the keystore under `installation.dataDir` (SPEC §11). */
export const KEYSTORE_FILE = 'keystore.p12';

/** Permission bits of the keystore file and of a data directory we create. */
const KEYSTORE_MODE = 0o600;
const DATA_DIR_MODE = 0o700;

/** Options of {@link openKeyStore}. */
export interface KeyStoreOptions {
  /** `installation.dataDir`; the keystore is `<dataDir>/keystore.p12`. */
  readonly dataDir: string;
  /** `installation.keystorePassword`, resolved. Never logged nor put in an error message. */
  readonly password: string;
  /** RSA modulus length for a new key; an existing key keeps its size. @default 2048 */
  readonly keySize?: number;
  /** Clock for the certificate's start of validity and the validity check on import. @default () => new Date() */
  readonly now?: () => Date;
}

/** The installation's key and certificate chain, loaded from (or first created in) the keystore. */
export interface KeyStore extends RecordingSigner {
  /** Absolute or dataDir-relative path of the keystore file. */
  readonly path: string;
  /** RSA modulus length of the key, in bits. */
  readonly keySize: number;
  /** Whether this open created the keystore (first start). */
  readonly created: boolean;
  /** Things an operator should fix, e.g. a keystore file readable by others; log them as warnings. */
  readonly warnings: readonly string[];
  /** Serial, fingerprint, names and validity of the verification certificate. */
  describe(): CertificateInfo;
  /** A PKCS#10 request (PEM) for a CA to sign the installation's key, subject as the certificate. */
  createCsr(): string;
  /**
   * Installs a CA-signed certificate for our key with its chain: PEM blocks in any order (leaf
   * first is conventional). Rejects with INTEGRITY_CERT_MISMATCH if no certificate carries our
   * public key, INTEGRITY_CERT_INVALID if the leaf is not valid now, a certificate does not chain
   * or cannot be stored; nothing changes then. Rewrites the keystore atomically.
   */
  importCertificate(pem: string): Promise<CertificateInfo>;
  /** The verification certificate followed by its CA certificates, PEM. */
  exportCertificatePem(): string;
}

/**
 * Opens `<dataDir>/keystore.p12` with `password`, or on first start (no such file) creates the
 * installation: a new id, an RSA key of `keySize` bits, a self-signed certificate, all written
 * as a 3DES PKCS#12 file of mode 0600 in a data directory of mode 0700.
 *
 * Rejects with AppError: INTEGRITY_KEYSTORE_PASSWORD (empty or wrong password — the MAC does not
 * verify), INTEGRITY_KEYSTORE_CORRUPT (unreadable content), INTEGRITY_IO (file system). An
 * existing keystore is never written by opening it.
 */
export async function openKeyStore(options: KeyStoreOptions): Promise<KeyStore> {
  const now = options.now ?? (() => new Date());
  const keySize = options.keySize ?? 2048;
  if (!Number.isInteger(keySize) || keySize < 2048 || keySize > 16384) {
    throw new RangeError(`keySize must be an RSA modulus length of at least 2048 bits, got ${keySize}`);
  }
  const path = join(options.dataDir, KEYSTORE_FILE);
  if (typeof options.password !== 'string' || options.password === '') {
    throw new AppError(
      'INTEGRITY_KEYSTORE_PASSWORD',
      `no keystore password configured for ${path} (installation.keystorePassword is empty)`,
    );
  }

  const existing = await readKeystoreFile(path);
  if (existing !== undefined) {
    const contents = decodeKeystore(existing, options.password, path);
    return new Pkcs12KeyStore(path, options.password, contents, now, false, await permissionWarnings(path));
  }

  await ensureDataDir(options.dataDir);
  const contents = createInstallation(keySize, now());
  try {
    const bytes = encodeVerifiedKeystore(contents, options.password, path);
    await writeFileAtomic(path, bytes, { mode: KEYSTORE_MODE, exclusive: true });
  } catch (error) {
    // Another process created the keystore since we looked: use that one, never replace it.
    if (error instanceof AppError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') {
      return openKeyStore(options);
    }
    throw error;
  }
  return new Pkcs12KeyStore(path, options.password, contents, now, true, []);
}

class Pkcs12KeyStore implements KeyStore {
  readonly path: string;
  readonly installationId: string;
  readonly keySize: number;
  readonly created: boolean;
  readonly warnings: readonly string[];
  readonly #password: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #now: () => Date;
  #certificates: readonly string[];
  #info: CertificateInfo;

  constructor(
    path: string,
    password: string,
    contents: KeystoreContents,
    now: () => Date,
    created: boolean,
    warnings: readonly string[],
  ) {
    this.path = path;
    this.#password = password;
    this.#privateKey = contents.privateKey;
    this.#publicKey = createPublicKey(contents.privateKey);
    this.installationId = contents.installationId;
    this.keySize = contents.privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    this.#certificates = contents.certificates;
    this.#info = describeCertificate(leafOf(contents.certificates));
    this.#now = now;
    this.created = created;
    this.warnings = warnings;
  }

  get certificatePem(): string {
    return leafOf(this.#certificates);
  }

  get chainPem(): readonly string[] {
    return this.#certificates.slice(1);
  }

  sign(data: Buffer): Buffer {
    // RSASSA-PKCS1-v1_5 (node's default padding for RSA keys) over SHA-256.
    return createSign('sha256').update(data).sign(this.#privateKey);
  }

  describe(): CertificateInfo {
    return this.#info;
  }

  createCsr(): string {
    return createCertificationRequest(
      { privateKey: this.#privateKey, publicKey: this.#publicKey },
      this.installationId,
    );
  }

  exportCertificatePem(): string {
    return this.#certificates.join('');
  }

  async importCertificate(pem: string): Promise<CertificateInfo> {
    const certificates = orderChain(splitPemCertificates(pem), this.#publicKey, this.#now());
    const contents: KeystoreContents = {
      privateKey: this.#privateKey,
      installationId: this.installationId,
      certificates,
    };
    const bytes = encodeVerifiedKeystore(contents, this.#password, this.path);
    await writeFileAtomic(this.path, bytes, { mode: KEYSTORE_MODE });
    this.#certificates = certificates;
    this.#info = describeCertificate(leafOf(certificates));
    return this.#info;
  }

  toJSON(): Record<string, unknown> {
    // Never serialise key material or the password, should someone log the object.
    return { path: this.path, installationId: this.installationId, certificate: this.#info.sha256Fingerprint };
  }
}

function leafOf(certificates: readonly string[]): string {
  const leaf = certificates[0];
  if (leaf === undefined) throw new Error('keystore contents without a certificate');
  return leaf;
}

/**
 * Puts an imported bundle in chain order: our certificate (the one with our public key), then
 * its issuer, and so on. Every certificate must belong to the chain; the leaf must be valid at
 * `now`. Self-signed roots may be included or left out.
 */
function orderChain(pems: readonly string[], publicKey: KeyObject, now: Date): string[] {
  if (pems.length === 0) {
    throw new AppError(
      'INTEGRITY_CERT_INVALID',
      'no PEM certificate found (expected -----BEGIN CERTIFICATE----- blocks; convert a .p7b with `openssl pkcs7 -print_certs`)',
    );
  }
  const remaining = pems.map((pem) => ({ pem, x509: parseCertificate(pem) }));
  const leafIndex = remaining.findIndex((entry) => certificateMatchesKey(entry.x509, publicKey));
  if (leafIndex < 0) {
    const subject = remaining[0]?.x509.subject.replace(/\n/g, ', ') ?? '';
    throw new AppError(
      'INTEGRITY_CERT_MISMATCH',
      `the certificate (${subject}) is not for this installation's key; sign the CSR from \`callrec cert csr\``,
    );
  }
  const [leaf] = remaining.splice(leafIndex, 1);
  if (leaf === undefined) throw new Error('unreachable: leaf index out of range');
  const { notBefore, notAfter } = validityOf(leaf.x509);
  if (now.getTime() < notBefore.getTime()) {
    throw new AppError('INTEGRITY_CERT_INVALID', `the certificate is not valid before ${notBefore.toISOString()}`);
  }
  if (now.getTime() > notAfter.getTime()) {
    throw new AppError('INTEGRITY_CERT_INVALID', `the certificate expired at ${notAfter.toISOString()}`);
  }
  const chain = [leaf];
  for (let current = leaf; remaining.length > 0 && !isSelfSigned(current.x509);) {
    const issuerIndex = remaining.findIndex((entry) => isIssuedBy(current.x509, entry.x509));
    if (issuerIndex < 0) break;
    const [issuer] = remaining.splice(issuerIndex, 1);
    if (issuer === undefined) break;
    chain.push(issuer);
    current = issuer;
  }
  if (remaining.length > 0) {
    const stray = remaining.map((entry) => entry.x509.subject.replace(/\n/g, ', ')).join('; ');
    throw new AppError('INTEGRITY_CERT_INVALID', `certificate(s) not part of the chain of ours: ${stray}`);
  }
  return chain.map((entry) => entry.pem);
}

/** The new installation: id, key pair (node:crypto, fast), self-signed certificate. */
function createInstallation(keySize: number, now: Date): KeystoreContents {
  const installationId = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: keySize });
  const certificate = createSelfSignedCertificate({ privateKey, publicKey }, installationId, now);
  return { privateKey, installationId, certificates: [certificate] };
}

/** The keystore's bytes, or `undefined` if there is none yet. */
async function readKeystoreFile(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('INTEGRITY_IO', `cannot read keystore ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Creates the data directory with mode 0700 when it does not exist (an existing one is left as is). */
async function ensureDataDir(dataDir: string): Promise<void> {
  try {
    const created = await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    if (created !== undefined) await chmod(dataDir, DATA_DIR_MODE); // exact, whatever the umask
  } catch (error) {
    throw new AppError('INTEGRITY_IO', `cannot create data directory ${dataDir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Warnings about a keystore that group or others may read or write (it is left unchanged). */
async function permissionWarnings(path: string): Promise<string[]> {
  try {
    const { mode } = await stat(path);
    if ((mode & 0o077) === 0) return [];
    return [`keystore ${path} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}; run chmod 600 on it`];
  } catch {
    return [];
  }
}
