import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors.js';
import { writeFileAtomic, type RecordingSigner } from '../../integrity/index.js';

/** Where a refresh token is kept between runs; implemented by {@link OneDriveTokenStore}. */
export interface RefreshTokenStore {
  /** Replaces the stored refresh token. */
  save(refreshToken: string): Promise<void>;
  /** The stored refresh token, `undefined` when none was stored yet. */
  load(): Promise<string | undefined>;
}

/** Options of {@link OneDriveTokenStore}. */
export interface OneDriveTokenStoreOptions {
  /** `installation.dataDir`; the file is `<dataDir>/onedrive-<targetId>.token`. */
  readonly dataDir: string;
  /** The OneDrive target's config id. */
  readonly targetId: string;
  /** The installation key (the key store); only its holder can derive the file key. */
  readonly signer: Pick<RecordingSigner, 'sign'>;
}

/** Version of the file format and of the key derivation. */
const FORMAT_VERSION = 1;
/** What is signed to derive the key: PKCS#1 v1.5 signatures are deterministic, so the key is stable. */
const KEY_SEED = 'callrec onedrive token key v1';
const HKDF_INFO = 'callrec onedrive refresh token aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TOKEN_FILE_MODE = 0o600;

/** The JSON in the token file; binary fields base64. */
interface TokenFile {
  readonly v: number;
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

/** File name of a target's token under the data directory. */
export function oneDriveTokenFileName(targetId: string): string {
  return `onedrive-${targetId}.token`;
}

/**
 * A OneDrive target's refresh token, encrypted at rest with AES-256-GCM (SPEC §6). The key is
 * HKDF-SHA256 over the installation key's signature of a fixed string, so the file is useless
 * without the keystore and its password; the target id is authenticated data, so a file copied
 * to another target's name does not decrypt. Written atomically with mode 0600. A file that does
 * not decrypt (tampered, other keystore, other target) rejects with `ARCHIVE_AUTH`.
 */
export class OneDriveTokenStore implements RefreshTokenStore {
  /** Absolute path of the token file. */
  readonly path: string;
  readonly #targetId: string;
  readonly #signer: Pick<RecordingSigner, 'sign'>;
  #key: Buffer | undefined;

  constructor(options: OneDriveTokenStoreOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.targetId) || options.targetId.startsWith('.')) {
      throw new AppError('ARCHIVE_CONFIG', `target id "${options.targetId}" cannot name a token file`);
    }
    this.path = join(options.dataDir, oneDriveTokenFileName(options.targetId));
    this.#targetId = options.targetId;
    this.#signer = options.signer;
  }

  async save(refreshToken: string): Promise<void> {
    if (refreshToken === '') throw new AppError('ARCHIVE_AUTH', 'refusing to store an empty refresh token');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#fileKey(), iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.#aad());
    const data = Buffer.concat([cipher.update(refreshToken, 'utf8'), cipher.final()]);
    const file: TokenFile = {
      v: FORMAT_VERSION,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    try {
      await writeFileAtomic(this.path, `${JSON.stringify(file)}\n`, { mode: TOKEN_FILE_MODE });
    } catch (error) {
      throw new AppError('ARCHIVE_IO', `cannot store the OneDrive token for target ${this.#targetId}`, {
        cause: error,
        retriable: true,
      });
    }
  }

  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AppError('ARCHIVE_IO', `cannot read ${this.path}`, { cause: error, retriable: true });
    }
    const file = parseTokenFile(text);
    if (file === undefined) throw this.#unusable('not a callrec token file');
    if (file.v !== FORMAT_VERSION) throw this.#unusable(`unsupported format version ${file.v}`);
    const iv = Buffer.from(file.iv, 'base64');
    const tag = Buffer.from(file.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw this.#unusable('malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#fileKey(), iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(this.#aad());
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()]);
      return plain.toString('utf8');
    } catch (error) {
      throw this.#unusable('it does not decrypt (altered, or written with another keystore)', error);
    }
  }

  /** Removes the stored token (idempotent). */
  async clear(): Promise<void> {
    await unlink(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw new AppError('ARCHIVE_IO', `cannot remove ${this.path}`, { cause: error });
    });
  }

  #fileKey(): Buffer {
    if (this.#key === undefined) {
      const seed = this.#signer.sign(Buffer.from(KEY_SEED, 'utf8'));
      this.#key = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), HKDF_INFO, 32));
    }
    return this.#key;
  }

  #aad(): Buffer {
    return Buffer.from(`callrec onedrive token v${FORMAT_VERSION} target ${this.#targetId}`, 'utf8');
  }

  #unusable(reason: string, cause?: unknown): AppError {
    return new AppError(
      'ARCHIVE_AUTH',
      `stored OneDrive token of target ${this.#targetId} is unusable: ${reason}; run "callrec onedrive authorize" again`,
      { cause },
    );
  }
}

function parseTokenFile(text: string): TokenFile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { v, iv, tag, data } = record;
  if (typeof v !== 'number' || typeof iv !== 'string' || typeof tag !== 'string' || typeof data !== 'string') {
    return undefined;
  }
  return { v, iv, tag, data };
}
