/**
 * What the recording pipeline needs from the installation's key: an RSA PKCS#1 v1.5 SHA-256
 * signature and the certificate (chain) that verifies it. Implemented by the key store; the
 * private key never leaves it.
 */
export interface RecordingSigner {
  /** RSA PKCS#1 v1.5 signature over SHA-256 of `data` (what `openssl dgst -sha256 -sign` makes). */
  sign(data: Buffer): Buffer;
  /** The verification certificate, PEM. */
  readonly certificatePem: string;
  /** CA certificates above it when a CA-signed certificate was imported (empty when self-signed). */
  readonly chainPem: readonly string[];
  /** The installation id (`callrec <installation-id>` is the certificate subject CN). */
  readonly installationId: string;
}
