import { createHmac, hkdfSync } from 'node:crypto';
import type { RecordingSigner } from '../integrity/index.js';

/** What is signed to derive the key: PKCS#1 v1.5 signatures are deterministic, so the key is stable. */
const KEY_SEED = 'callrec erasure pseudonym key v1';
const HKDF_INFO = 'callrec erasure pseudonym hmac-sha256';
/** Hex digits kept: 48 bits, ample to tell an installation's erased numbers apart. */
const PSEUDONYM_HEX = 12;

/**
 * The key erased numbers are pseudonymised with: HKDF-SHA256 over the installation key's
 * signature of a fixed string, bound to the installation id. NOTE(deviation): issue 9 suggested
 * the installation id itself as the HMAC key, but that id is public (the certificate's subject)
 * and phone numbers are few enough to try them all, which would make the pseudonym reversible.
 * With a key only the keystore's holder can derive, the same number still gets the same
 * pseudonym on every erase of this installation, and nobody else can link it back.
 */
export function pseudonymKey(signer: Pick<RecordingSigner, 'sign' | 'installationId'>): Buffer {
  const seed = signer.sign(Buffer.from(`${KEY_SEED} ${signer.installationId}`, 'utf8'));
  return Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), HKDF_INFO, 32));
}

/**
 * `erased:<first 12 hex of HMAC-SHA256(key, number)>`: what replaces an erased number in the
 * database. `number` should be one canonical form of the line (E.164 where there is one), so
 * that `201` and `+4930123456201` get the same pseudonym.
 */
export function erasurePseudonym(key: Buffer, number: string): string {
  return `erased:${createHmac('sha256', key).update(number, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX)}`;
}
