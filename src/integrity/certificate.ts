import { X509Certificate, createHash, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { AppError } from '../errors.js';

// X.509 helpers of the key store. node-forge creates what node:crypto cannot (certificates,
// CSRs); node:crypto's X509Certificate inspects certificates, because it reads any key or
// signature algorithm (a CA's ECDSA certificate too) and formats like OpenSSL.

/** What `callrec cert show` prints and `run` logs about a certificate. */
export interface CertificateInfo {
  /** The certificate, PEM (one block, trailing newline). */
  readonly pem: string;
  /** Serial number, upper-case hex as `openssl x509 -serial` prints it. */
  readonly serialHex: string;
  /** SHA-256 of the DER, colon-separated upper-case hex as `openssl x509 -fingerprint -sha256`. */
  readonly sha256Fingerprint: string;
  /** Subject distinguished name, e.g. `O=callrec, CN=callrec <installation-id>`. */
  readonly subject: string;
  /** Issuer distinguished name (equal to the subject when self-signed). */
  readonly issuer: string;
  /** Start of validity, ISO 8601. */
  readonly notBefore: string;
  /** End of validity, ISO 8601. */
  readonly notAfter: string;
  /** Whether the certificate is issued and signed by its own key. */
  readonly selfSigned: boolean;
}

/** The key pair the certificate helpers work with (node:crypto key objects). */
export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Validity of the self-signed verification certificate, in years (SPEC §5). */
export const SELF_SIGNED_VALIDITY_YEARS = 100;

/** Subject common name of an installation's certificate: `callrec <installation-id>`. */
export function commonNameFor(installationId: string): string {
  return `callrec ${installationId}`;
}

/** The installation id in a `callrec <installation-id>` common name, or `undefined`. */
export function installationIdFromCommonName(commonName: string): string | undefined {
  const match = /^callrec ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(commonName);
  return match?.[1]?.toLowerCase();
}

/** Subject (= issuer) attributes of the installation's certificate and CSR. */
function subjectAttributes(installationId: string): forge.pki.CertificateField[] {
  return [
    { shortName: 'O', value: 'callrec' },
    { shortName: 'CN', value: commonNameFor(installationId) },
  ];
}

/** Converts node:crypto RSA keys to node-forge keys (through PEM; forge is RSA-only). */
function toForgeKeys(keys: RsaKeyPair): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const privateKey = forge.pki.privateKeyFromPem(keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const publicKey = forge.pki.publicKeyFromPem(keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  return { privateKey: privateKey as forge.pki.rsa.PrivateKey, publicKey: publicKey as forge.pki.rsa.PublicKey };
}

/** The node-forge private key for `key` (for PKCS#12); callers must not let it escape. */
export function toForgePrivateKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(
    key.export({ type: 'pkcs1', format: 'pem' }).toString(),
  ) as forge.pki.rsa.PrivateKey;
}

/** A random positive 16-byte serial number, hex, without a leading zero byte (minimal DER). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40; // positive, and the first byte never 0x00
  return bytes.toString('hex');
}

/**
 * Creates the installation's self-signed X.509 v3 verification certificate: subject and issuer
 * `O=callrec, CN=callrec <installation-id>`, random serial, valid from `now` (whole seconds) for
 * 100 years, CA:false, key usage digitalSignature + nonRepudiation, subject key identifier,
 * SHA-256 with RSA. Returns the PEM.
 */
export function createSelfSignedCertificate(keys: RsaKeyPair, installationId: string, now: Date): string {
  const forgeKeys = toForgeKeys(keys);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgeKeys.publicKey;
  cert.serialNumber = randomSerialHex();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + SELF_SIGNED_VALIDITY_YEARS);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = subjectAttributes(installationId);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: true },
  ]);
  cert.sign(forgeKeys.privateKey, forge.md.sha256.create());
  return normalizePem(forge.pki.certificateToPem(cert));
}

/**
 * Creates a PKCS#10 certification request (PEM) for the installation's key, subject as the
 * self-signed certificate, asking for key usage digitalSignature + nonRepudiation, SHA-256 signed.
 */
export function createCertificationRequest(keys: RsaKeyPair, installationId: string): string {
  const forgeKeys = toForgeKeys(keys);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forgeKeys.publicKey;
  csr.setSubject(subjectAttributes(installationId));
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
      ],
    },
  ]);
  csr.sign(forgeKeys.privateKey, forge.md.sha256.create());
  return forge.pki.certificationRequestToPem(csr).replace(/\r\n/g, '\n');
}

/** Parses one certificate (PEM or DER); a malformed one rejects with INTEGRITY_CERT_INVALID. */
export function parseCertificate(certificate: string | Buffer): X509Certificate {
  try {
    return new X509Certificate(certificate);
  } catch (error) {
    throw new AppError('INTEGRITY_CERT_INVALID', 'not a valid X.509 certificate', { cause: error });
  }
}

/** Re-encodes a certificate as canonical PEM (64-column base64, `\n`, trailing newline). */
export function normalizePem(certificate: string | Buffer): string {
  const x509 = parseCertificate(certificate);
  const base64 = x509.raw.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}

/**
 * Every `CERTIFICATE` PEM block of `text`, in order, each normalised. Text outside the blocks
 * (as `openssl x509 -text` or `-print_certs` put there), CRLF line ends, indentation and any
 * line length are accepted. A block that does not parse rejects with INTEGRITY_CERT_INVALID.
 */
export function splitPemCertificates(text: string): string[] {
  const blocks = text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g);
  return Array.from(blocks, (block, index) => {
    const body = (block[1] ?? '').replace(/\s+/g, '');
    try {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('not base64');
      return normalizePem(Buffer.from(body, 'base64'));
    } catch (error) {
      throw new AppError(
        'INTEGRITY_CERT_INVALID',
        `certificate ${index + 1} of the PEM is not a valid X.509 certificate`,
        {
          cause: error,
        },
      );
    }
  });
}

/** SHA-256 fingerprint of DER bytes, colon-separated upper-case hex (OpenSSL's format). */
export function sha256Fingerprint(der: Buffer): string {
  return createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

/** Node prints a distinguished name as one `KEY=value` per line; we print them comma-separated. */
function formatName(name: string): string {
  return name
    .split('\n')
    .filter((part) => part !== '')
    .join(', ');
}

/** The `CN` of a certificate's subject, or `undefined`. */
export function subjectCommonName(certificate: X509Certificate): string | undefined {
  for (const line of certificate.subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

/** Validity bounds of a certificate as dates (rejects with INTEGRITY_CERT_INVALID if unreadable). */
export function validityOf(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new AppError('INTEGRITY_CERT_INVALID', `cannot read the validity of certificate ${certificate.subject}`);
  }
  return { notBefore, notAfter };
}

/** Whether `certificate` is issued by `issuer` and carries a signature by its key. */
export function isIssuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether the certificate is self-signed: issuer = subject and signed by its own key. (Not
 * `checkIssued(itself)`: OpenSSL requires keyCertSign for that, which our end-entity lacks.)
 */
export function isSelfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.issuer === certificate.subject && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/** Whether the certificate's public key is `publicKey` (compared as SubjectPublicKeyInfo DER). */
export function certificateMatchesKey(certificate: X509Certificate, publicKey: KeyObject): boolean {
  const ours = publicKey.export({ type: 'spki', format: 'der' });
  const theirs = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return ours.equals(theirs);
}

/** Serial, fingerprint, names and validity of a certificate (PEM or DER). */
export function describeCertificate(certificate: string | Buffer | X509Certificate): CertificateInfo {
  const x509 = certificate instanceof X509Certificate ? certificate : parseCertificate(certificate);
  const { notBefore, notAfter } = validityOf(x509);
  return {
    pem: normalizePem(x509.raw),
    serialHex: x509.serialNumber.toUpperCase(),
    sha256Fingerprint: sha256Fingerprint(x509.raw),
    subject: formatName(x509.subject),
    issuer: formatName(x509.issuer),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    selfSigned: isSelfSigned(x509),
  };
}

/**
 * The node-forge form of a certificate, for the PKCS#12 writer. forge re-encodes a certificate
 * from its parsed fields, so this refuses (INTEGRITY_CERT_INVALID) any certificate that forge
 * cannot reproduce byte for byte — e.g. one with a non-RSA key or an ECDSA signature — rather
 * than store an altered certificate.
 */
export function toForgeCertificate(certificate: X509Certificate): forge.pki.Certificate {
  const der = certificate.raw;
  let parsed: forge.pki.Certificate;
  try {
    parsed = forge.pki.certificateFromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))));
  } catch (error) {
    throw new AppError(
      'INTEGRITY_CERT_INVALID',
      `cannot store certificate ${formatName(certificate.subject)}: only RSA certificates signed with RSA are supported in the keystore`,
      { cause: error },
    );
  }
  const again = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(parsed)).getBytes(), 'binary');
  if (!again.equals(der)) {
    throw new AppError(
      'INTEGRITY_CERT_INVALID',
      `cannot store certificate ${formatName(certificate.subject)} unchanged in the keystore (unsupported encoding)`,
    );
  }
  return parsed;
}
