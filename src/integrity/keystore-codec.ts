import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { AppError } from '../errors.js';
import {
  certificateMatchesKey,
  commonNameFor,
  installationIdFromCommonName,
  normalizePem,
  parseCertificate,
  subjectCommonName,
  toForgeCertificate,
  toForgePrivateKey,
} from './certificate.js';

/**
 * PBE and MAC iteration count of the PKCS#12 file. OpenSSL's default is 2048; 20000 makes each
 * password guess ~10× dearer for ~0.1 s per open with node-forge (which notes it supports MAC
 * counts below 65536 only).
 */
const PKCS12_ITERATIONS = 20_000;

/** PKCS#12 bag types (RFC 7292 §4.2). */
const SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const CERT_BAG = '1.2.840.113549.1.12.10.1.3';

/** What the keystore file holds, decrypted. */
export interface KeystoreContents {
  readonly privateKey: KeyObject;
  readonly installationId: string;
  /** Leaf first, then CA certificates; normalised PEM. */
  readonly certificates: readonly string[];
}

/**
 * PKCS#12 as `openssl pkcs12` reads it: the key in a pkcs8ShroudedKeyBag encrypted with
 * pbeWithSHAAnd3-KeyTripleDES-CBC, the certificates (public) in plain cert bags, a SHA-1 HMAC
 * over all under the password. The key bag and the leaf carry friendlyName
 * `callrec <installation-id>` and a localKeyId (SHA-1 of the leaf), so the id survives a CA
 * certificate with another subject.
 */
function encodeKeystore(contents: KeystoreContents, password: string): Buffer {
  const certificates = contents.certificates.map((pem) => toForgeCertificate(parseCertificate(pem)));
  const asn1 = forge.pkcs12.toPkcs12Asn1(toForgePrivateKey(contents.privateKey), certificates, password, {
    algorithm: '3des',
    count: PKCS12_ITERATIONS,
    friendlyName: commonNameFor(contents.installationId),
    generateLocalKeyId: true,
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** {@link encodeKeystore}, then reads the result back: never write a keystore we cannot open. */
export function encodeVerifiedKeystore(contents: KeystoreContents, password: string, path: string): Buffer {
  const bytes = encodeKeystore(contents, password);
  const back = decodeKeystore(bytes, password, path);
  const same =
    back.installationId === contents.installationId &&
    back.certificates.join('') === contents.certificates.join('') &&
    back.privateKey.equals(contents.privateKey);
  if (!same) throw new Error(`PKCS#12 round trip changed the keystore contents of ${path}`);
  return bytes;
}

/**
 * Reads a keystore: rejects with INTEGRITY_KEYSTORE_PASSWORD when the MAC does not verify under
 * `password`, INTEGRITY_KEYSTORE_CORRUPT when the content is not one key with its certificates.
 */
export function decodeKeystore(der: Buffer, password: string, path: string): KeystoreContents {
  const corrupt = (reason: string, cause?: unknown): AppError =>
    new AppError('INTEGRITY_KEYSTORE_CORRUPT', `keystore ${path} is unreadable: ${reason}`, { cause });

  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  } catch (error) {
    throw corrupt('not a DER-encoded PKCS#12 file', error);
  }
  let pfx: forge.pkcs12.Pkcs12Pfx;
  try {
    pfx = forge.pkcs12.pkcs12FromAsn1(asn1, true, password);
  } catch (error) {
    if (error instanceof Error && /MAC could not be verified/i.test(error.message)) {
      throw new AppError(
        'INTEGRITY_KEYSTORE_PASSWORD',
        `wrong keystore password for ${path} (installation.keystorePassword), or the file was altered; nothing was changed`,
      );
    }
    throw corrupt('not a PKCS#12 file node-forge can read', error);
  }

  const keyBags = pfx.getBags({ bagType: SHROUDED_KEY_BAG })[SHROUDED_KEY_BAG] ?? [];
  const keyBag = keyBags[0];
  if (keyBags.length !== 1 || keyBag?.key === undefined || keyBag.key === null) {
    throw corrupt(`expected one encrypted RSA private key, found ${keyBags.length}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(forge.pki.privateKeyToPem(keyBag.key));
  } catch (error) {
    throw corrupt('the private key does not parse', error);
  }
  const publicKey = createPublicKey(privateKey);

  const certBags = pfx.getBags({ bagType: CERT_BAG })[CERT_BAG] ?? [];
  const pems: string[] = [];
  for (const bag of certBags) {
    try {
      const asn1Cert = bag.cert !== undefined && bag.cert !== null ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
      pems.push(normalizePem(Buffer.from(forge.asn1.toDer(asn1Cert).getBytes(), 'binary')));
    } catch (error) {
      throw corrupt('a certificate does not parse', error);
    }
  }
  const leafIndex = pems.findIndex((pem) => certificateMatchesKey(new X509Certificate(pem), publicKey));
  const leaf = pems[leafIndex];
  if (leaf === undefined) throw corrupt('no certificate for the private key');
  const certificates = [leaf, ...pems.filter((_, index) => index !== leafIndex)];

  const installationId =
    installationIdFromCommonName(friendlyNameOf(keyBag) ?? '') ??
    installationIdFromCommonName(subjectCommonName(new X509Certificate(leaf)) ?? '');
  if (installationId === undefined) throw corrupt('no installation id (friendlyName "callrec <uuid>")');
  return { privateKey, installationId, certificates };
}

function friendlyNameOf(bag: forge.pkcs12.Bag): string | undefined {
  const attributes = bag.attributes as Record<string, unknown> | undefined;
  const values = attributes?.['friendlyName'];
  if (!Array.isArray(values)) return undefined;
  const [first] = values as unknown[];
  return typeof first === 'string' ? first : undefined;
}
