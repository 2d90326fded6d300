import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { AppError } from '../errors.js';

/** A trusted time-stamp for some bytes (RFC 3161). */
export interface TimestampToken {
  /** The TSA's whole `TimeStampResp`, DER — what `openssl ts -reply -in x.tsr -text` and `openssl ts -verify` read. */
  readonly response: Buffer;
  /** `genTime` of the token, ISO 8601. */
  readonly genTime: string;
  /** The token's serial number, hex. */
  readonly serialNumber: string;
}

/** Obtains RFC 3161 time-stamp tokens; implemented over HTTP by {@link Rfc3161TimestampClient}. */
export interface TimestampClient {
  /** A token over SHA-256 of `data`; rejects with `AppError('INTEGRITY_TIMESTAMP')`. */
  timestamp(data: Buffer): Promise<TimestampToken>;
}

/** Options of {@link Rfc3161TimestampClient}. */
export interface Rfc3161TimestampClientOptions {
  /** The TSA's HTTP(S) URL. */
  readonly url: string;
  /** Give up after this long without response headers or body data. @default 10000 */
  readonly timeoutMs?: number;
}

/** Largest response accepted (a token with the TSA's certificate chain is a few KiB). */
const MAX_RESPONSE_BYTES = 1 << 20;
const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';

/**
 * RFC 3161 over HTTP (§3.4): POSTs an `application/timestamp-query` with a SHA-256 imprint, a
 * random nonce and `certReq`, and accepts a granted response whose token carries the same
 * imprint and nonce. It does not check the TSA's CMS signature — that needs the TSA's CA and is
 * the verifier's job (`openssl ts -verify -data <file> -in <file>.tsr -CAfile tsa-ca.pem`).
 */
export class Rfc3161TimestampClient implements TimestampClient {
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: Rfc3161TimestampClientOptions) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async timestamp(data: Buffer): Promise<TimestampToken> {
    const digest = createHash('sha256').update(data).digest();
    const nonce = randomNonce();
    const query = buildTimestampRequest(digest, nonce);
    let body: Buffer;
    try {
      const response = await request(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
        body: query,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
      body = Buffer.concat(chunks);
    } catch (error) {
      throw new AppError('INTEGRITY_TIMESTAMP', `TSA ${this.#url}: ${messageOf(error)}`, {
        cause: error,
        retriable: true,
      });
    }
    return checkTimestampResponse(body, digest, nonce);
  }
}

/** DER `TimeStampReq` (RFC 3161 §2.4.1) for a SHA-256 digest, with `nonce` and `certReq TRUE`. */
export function buildTimestampRequest(sha256Digest: Buffer, nonce: Buffer): Buffer {
  if (sha256Digest.length !== 32) throw new Error('a SHA-256 digest has 32 bytes');
  const algorithm = der(0x30, Buffer.concat([derOid(OID_SHA256), der(0x05, Buffer.alloc(0))]));
  const imprint = der(0x30, Buffer.concat([algorithm, der(0x04, sha256Digest)]));
  return der(
    0x30,
    Buffer.concat([der(0x02, Buffer.from([1])), imprint, der(0x02, derInteger(nonce)), der(0x01, Buffer.from([0xff]))]),
  );
}

/**
 * Checks a DER `TimeStampResp` against the request: status granted (0) or grantedWithMods (1), a
 * signed-data token whose TSTInfo imprint is SHA-256 of the data and whose nonce matches.
 * Rejects with `AppError('INTEGRITY_TIMESTAMP')`.
 */
export function checkTimestampResponse(response: Buffer, sha256Digest: Buffer, nonce: Buffer): TimestampToken {
  try {
    const [statusInfo, token] = children(single(response, 0x30));
    const status = expect(children(expect(statusInfo, 0x30, 'PKIStatusInfo'))[0], 0x02, 'PKIStatus').content;
    const statusValue = status.length === 0 ? -1 : status.readIntBE(0, Math.min(6, status.length));
    if (statusValue !== 0 && statusValue !== 1) throw new Error(`TSA refused the request (PKIStatus ${statusValue})`);
    const [contentType, explicitContent] = children(expect(token, 0x30, 'TimeStampToken'));
    if (oidOf(expect(contentType, 0x06, 'contentType')) !== OID_SIGNED_DATA)
      throw new Error('token is not signed-data');
    const signedData = children(expect(explicitContent, 0xa0, 'content'))[0];
    const encap = children(expect(signedData, 0x30, 'SignedData'))[2];
    const [eContentType, eContent] = children(expect(encap, 0x30, 'encapContentInfo'));
    if (oidOf(expect(eContentType, 0x06, 'eContentType')) !== OID_TST_INFO) throw new Error('token is not a TSTInfo');
    const tstInfoOctets = children(expect(eContent, 0xa0, 'eContent'))[0];
    const fields = children(single(expect(tstInfoOctets, 0x04, 'eContent').content, 0x30));
    const [, , imprint, serial, genTime, ...optional] = fields;
    const [algorithm, hashed] = children(expect(imprint, 0x30, 'messageImprint'));
    const algorithmOid = children(expect(algorithm, 0x30, 'hashAlgorithm'))[0];
    if (oidOf(expect(algorithmOid, 0x06, 'hashAlgorithm')) !== OID_SHA256) throw new Error('imprint is not SHA-256');
    if (!expect(hashed, 0x04, 'hashedMessage').content.equals(sha256Digest)) {
      throw new Error('token imprint does not match the data');
    }
    const tokenNonce = optional.find((field) => field.tag === 0x02);
    if (tokenNonce === undefined || !stripZeros(tokenNonce.content).equals(stripZeros(nonce))) {
      throw new Error('token nonce does not match the request');
    }
    return {
      response: Buffer.from(response),
      genTime: generalizedTimeToIso(expect(genTime, 0x18, 'genTime').content.toString('latin1')),
      serialNumber: expect(serial, 0x02, 'serialNumber').content.toString('hex'),
    };
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('INTEGRITY_TIMESTAMP', `bad time-stamp response: ${messageOf(error)}`, { cause: error });
  }
}

/** The SHA-256 imprint of a stored `.tsr` response, to check it belongs to a file; `undefined` if unreadable. */
export function timestampResponseImprint(response: Buffer): { sha256: Buffer; genTime: string } | undefined {
  try {
    const token = children(single(response, 0x30))[1];
    const signedData = children(expect(children(expect(token, 0x30, 'token'))[1], 0xa0, 'content'))[0];
    const encap = children(expect(signedData, 0x30, 'SignedData'))[2];
    const eContent = children(expect(encap, 0x30, 'encapContentInfo'))[1];
    const octets = children(expect(eContent, 0xa0, 'eContent'))[0];
    const fields = children(single(expect(octets, 0x04, 'eContent').content, 0x30));
    const hashed = children(expect(fields[2], 0x30, 'messageImprint'))[1];
    return {
      sha256: Buffer.from(expect(hashed, 0x04, 'hashedMessage').content),
      genTime: generalizedTimeToIso(expect(fields[4], 0x18, 'genTime').content.toString('latin1')),
    };
  } catch {
    return undefined; // malformed: the caller reports it as unreadable
  }
}

// --- minimal DER (definite lengths, low tag numbers): enough for RFC 3161 requests and replies ---

interface Tlv {
  readonly tag: number;
  readonly content: Buffer;
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

function derInteger(unsigned: Buffer): Buffer {
  const value = stripZeros(unsigned);
  if (value.length === 0) return Buffer.from([0]);
  return (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value;
}

function derOid(oid: string): Buffer {
  const [first = 0, second = 0, ...rest] = oid.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128))
      groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function oidOf(tlv: Tlv): string {
  const bytes = tlv.content;
  const arcs: number[] = [];
  let value = 0;
  for (const [index, byte] of bytes.entries()) {
    if (index === 0) {
      arcs.push(Math.min(2, Math.floor(byte / 40)), byte - Math.min(2, Math.floor(byte / 40)) * 40);
      continue;
    }
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join('.');
}

function readTlv(buffer: Buffer, offset: number): { tlv: Tlv; end: number } {
  const tag = buffer[offset];
  let lengthByte = buffer[offset + 1];
  if (tag === undefined || lengthByte === undefined) throw new Error('truncated DER');
  if ((tag & 0x1f) === 0x1f) throw new Error('high-tag-number DER not supported');
  let position = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = buffer[position++];
      if (lengthByte === undefined) throw new Error('truncated DER');
      length = length * 256 + lengthByte;
    }
  }
  const end = position + length;
  if (end > buffer.length) throw new Error('truncated DER');
  return { tlv: { tag, content: buffer.subarray(position, end) }, end };
}

function single(buffer: Buffer, tag: number): Tlv {
  const { tlv, end } = readTlv(buffer, 0);
  if (tlv.tag !== tag || end !== buffer.length) throw new Error('unexpected DER structure');
  return tlv;
}

function children(tlv: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let offset = 0; offset < tlv.content.length;) {
    const { tlv: child, end } = readTlv(tlv.content, offset);
    result.push(child);
    offset = end;
  }
  return result;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) throw new Error(`${what} missing or malformed`);
  return tlv;
}

function stripZeros(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return bytes.subarray(start);
}

function randomNonce(): Buffer {
  const nonce = randomBytes(8);
  nonce[0] = (nonce[0] ?? 0) & 0x7f; // positive, so the DER INTEGER needs no sign byte
  return nonce;
}

/** `YYYYMMDDhhmmss[.fff]Z` → ISO 8601. */
function generalizedTimeToIso(text: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\.\d+)?Z$/.exec(text);
  if (match === null) throw new Error(`unsupported genTime ${JSON.stringify(text)}`);
  const [, year, month, day, hour, minute, second, fraction = ''] = match;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}Z`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
