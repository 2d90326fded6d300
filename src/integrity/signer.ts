import { X509Certificate, verify as verifyWithKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { RecordingSigner } from './recording-signer.js';
import { SIGNATURE_SUFFIX } from './recording-files.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What {@link signFile} wrote. */
export interface SignedFile {
  /** The signature file: the signed file's path + `.SHA256withRSA.sig`. */
  readonly signaturePath: string;
  readonly signature: Buffer;
}

/** The content of a `.SHA256withRSA.sig` file: the signature in base64 on one line, then `\n`. */
export function signatureFileText(signature: Buffer): string {
  return `${signature.toString('base64')}\n`;
}

/**
 * Reads a signature file as {@link signatureFileText} writes it (one base64 line, optional final
 * line break); `undefined` when it is anything else.
 */
export function parseSignatureFile(text: string): Buffer | undefined {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (!BASE64.test(line) || line.length % 4 !== 0) return undefined;
  return Buffer.from(line, 'base64');
}

/**
 * Signs the exact bytes of the file at `path` (RSA PKCS#1 v1.5, SHA-256) and writes the base64
 * signature to `<path>.SHA256withRSA.sig` atomically, mode 0600 — what
 * `openssl dgst -sha256 -verify pub.pem -signature <(base64 -d <sig>) <path>` checks.
 */
export async function signFile(path: string, signer: RecordingSigner): Promise<SignedFile> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new AppError('INTEGRITY_IO', `cannot read ${path} to sign it: ${messageOf(error)}`, { cause: error });
  }
  const signature = signer.sign(data);
  const signaturePath = `${path}${SIGNATURE_SUFFIX}`;
  await writeFileAtomic(signaturePath, signatureFileText(signature), { mode: 0o600 });
  return { signaturePath, signature };
}

/** Signs a recording's checksum file: writes `<id>.sha256.SHA256withRSA.sig` (see {@link signFile}). */
export function signChecksumFile(path: string, signer: RecordingSigner): Promise<SignedFile> {
  return signFile(path, signer);
}

/**
 * Whether `signature` is a valid RSA PKCS#1 v1.5 SHA-256 signature of `data` by the key of the
 * (first) certificate in `certificatePem`. Throws `AppError('INTEGRITY_CERT_INVALID')` when the
 * PEM holds no usable certificate.
 */
export function verifySignature(data: Buffer, signature: Buffer, certificatePem: string): boolean {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (error) {
    throw new AppError('INTEGRITY_CERT_INVALID', `not a PEM certificate: ${messageOf(error)}`, { cause: error });
  }
  try {
    return verifyWithKey('sha256', data, certificate.publicKey, signature);
  } catch {
    return false; // a signature of the wrong length or a non-RSA key: not a valid signature
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
