/**
 * RTP fixed header parsing (RFC 3550 §5.1) without allocation: `parseRtp` fills a caller-owned
 * view so the relay and recorder can inspect every datagram on the hot path.
 */

/** Minimum RTP header: the 12-octet fixed part (RFC 3550 §5.1). */
export const RTP_FIXED_HEADER_LENGTH = 12;

/** RTP version carried in the first two bits (RFC 3550 §5.1: "This specification defines version two"). */
export const RTP_VERSION = 2;

/** The parsed header of one RTP packet; reused across packets (see `createRtpHeaderView`). */
export interface RtpHeaderView {
  /** P bit: the packet ended in padding, already removed from payloadLength. */
  padding: boolean;
  /** X bit: a header extension followed the CSRC list. */
  extension: boolean;
  /** CC: number of CSRC identifiers (0–15). */
  csrcCount: number;
  /** M bit. */
  marker: boolean;
  /** PT (0–127). */
  payloadType: number;
  /** 16-bit sequence number. */
  sequenceNumber: number;
  /** 32-bit timestamp, unsigned. */
  timestamp: number;
  /** 32-bit SSRC, unsigned. */
  ssrc: number;
  /** Profile-defined first 16 bits of the header extension; 0 when there is none. */
  extensionProfile: number;
  /** Offset of the payload in the buffer, after CSRCs and header extension. */
  payloadOffset: number;
  /** Payload octets, without padding. */
  payloadLength: number;
}

/** A zeroed view for `parseRtp` to fill; allocate one per stream, not per packet. */
export function createRtpHeaderView(): RtpHeaderView {
  return {
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    extensionProfile: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Parses the RTP header of `buf` into `into`. Returns false for anything that is not a
 * well-formed version 2 packet; `into` is then partly overwritten and must not be used.
 */
export function parseRtp(buf: Uint8Array, into: RtpHeaderView): boolean {
  const length = buf.length;
  if (length < RTP_FIXED_HEADER_LENGTH) return false;
  const b0 = buf[0] as number;
  if (b0 >>> 6 !== RTP_VERSION) return false;
  const b1 = buf[1] as number;
  const csrcCount = b0 & 0x0f;
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;

  // RFC 3550 §5.1: the CSRC list, 0 to 15 items of 32 bits, follows the fixed header.
  let offset = RTP_FIXED_HEADER_LENGTH + 4 * csrcCount;
  if (offset > length) return false;

  let extensionProfile = 0;
  if (extension) {
    // RFC 3550 §5.3.1: 16 bits profile-defined, 16 bits length in 32-bit words excluding these 4 octets.
    if (offset + 4 > length) return false;
    extensionProfile = ((buf[offset] as number) << 8) | (buf[offset + 1] as number);
    const words = ((buf[offset + 2] as number) << 8) | (buf[offset + 3] as number);
    offset += 4 + 4 * words;
    if (offset > length) return false;
  }

  let end = length;
  if (padding) {
    // RFC 3550 §5.1: the last octet counts the padding octets, itself included.
    const count = buf[length - 1] as number;
    if (count === 0 || offset + count > length) return false;
    end = length - count;
  }

  into.padding = padding;
  into.extension = extension;
  into.csrcCount = csrcCount;
  into.marker = (b1 & 0x80) !== 0;
  into.payloadType = b1 & 0x7f;
  into.sequenceNumber = ((buf[2] as number) << 8) | (buf[3] as number);
  into.timestamp = readUint32(buf, 4);
  into.ssrc = readUint32(buf, 8);
  into.extensionProfile = extensionProfile;
  into.payloadOffset = offset;
  into.payloadLength = end - offset;
  return true;
}

/** The `index`th CSRC (0-based) of a packet `parseRtp` accepted with csrcCount > index. */
export function readCsrc(buf: Uint8Array, index: number): number {
  return readUint32(buf, RTP_FIXED_HEADER_LENGTH + 4 * index);
}

/**
 * RFC 5761 §4: on a multiplexed port, a second octet of 192–223 (RTCP packet types 192–223, i.e. RTP
 * payload types 64–95 with the marker bit) marks RTCP; those payload types must not be used for RTP.
 */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 4 || (buf[0] as number) >>> 6 !== RTP_VERSION) return false;
  const packetType = buf[1] as number;
  return packetType >= 192 && packetType <= 223;
}

/** What `writeRtpHeader` writes; the extension bit is never set. */
export interface RtpHeaderFields {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** @default false */
  readonly marker?: boolean;
  /** Sets the P bit; the caller appends the padding octets. @default false */
  readonly padding?: boolean;
  /** @default [] */
  readonly csrcs?: readonly number[];
}

/** Writes a version 2 header at the start of `buf`; returns its length (12 + 4 per CSRC). */
export function writeRtpHeader(buf: Uint8Array, fields: RtpHeaderFields): number {
  const csrcs = fields.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError(`at most 15 CSRCs fit an RTP header, got ${csrcs.length}`);
  const headerLength = RTP_FIXED_HEADER_LENGTH + 4 * csrcs.length;
  if (buf.length < headerLength) throw new RangeError(`RTP header needs ${headerLength} octets`);
  buf[0] = (RTP_VERSION << 6) | (fields.padding === true ? 0x20 : 0) | csrcs.length;
  buf[1] = (fields.marker === true ? 0x80 : 0) | (fields.payloadType & 0x7f);
  buf[2] = (fields.sequenceNumber >>> 8) & 0xff;
  buf[3] = fields.sequenceNumber & 0xff;
  writeUint32(buf, 4, fields.timestamp);
  writeUint32(buf, 8, fields.ssrc);
  for (let i = 0; i < csrcs.length; i++) writeUint32(buf, RTP_FIXED_HEADER_LENGTH + 4 * i, csrcs[i] as number);
  return headerLength;
}

function readUint32(buf: Uint8Array, offset: number): number {
  return (
    (((buf[offset] as number) << 24) |
      ((buf[offset + 1] as number) << 16) |
      ((buf[offset + 2] as number) << 8) |
      (buf[offset + 3] as number)) >>>
    0
  );
}

function writeUint32(buf: Uint8Array, offset: number, value: number): void {
  buf[offset] = (value >>> 24) & 0xff;
  buf[offset + 1] = (value >>> 16) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}
