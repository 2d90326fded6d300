import { isIP } from 'node:net';
import { parse, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { AppError } from '../errors.js';

/** RFC 3264 §6.1 stream direction, seen from the side that wrote the SDP. */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Outcome of SDP parsing and rewriting: parsers return results, they do not throw. */
export type SdpResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AppError };

/** One payload format of an m= line (structurally compatible with media/codec `PayloadFormat`). */
export interface SdpPayloadFormat {
  readonly payloadType: number;
  /** Upper-case encoding name, e.g. "PCMA", "TELEPHONE-EVENT", "CN"; "" when unknown. */
  readonly encoding: string;
  /** RTP clock rate; 0 when unknown. */
  readonly clockRate: number;
  readonly channels: number;
  /** The a=fmtp parameters, if any. */
  readonly fmtp?: string;
}

/** The first audio m= line, reduced to what media anchoring needs. */
export interface SdpAudio {
  /** Index of this m= line among all m= lines (answers keep m= line order, RFC 3264 §6). */
  readonly mediaIndex: number;
  /** Connection address (media-level c= overrides session-level); may be 0.0.0.0 (legacy hold). */
  readonly address: string;
  /** 4 or 6 from `c=IN IP4|IP6`. */
  readonly addressFamily: 4 | 6;
  /** RTP port; 0 means the stream is disabled or rejected (RFC 3264 §5.1, §6). */
  readonly rtpPort: number;
  /** a=rtcp port (RFC 3605), else rtpPort + 1 (RFC 3550 §11); 0 when the stream is disabled. */
  readonly rtcpPort: number;
  /** a=rtcp address when given (RFC 3605), else the connection address. */
  readonly rtcpAddress: string;
  /** a=rtcp-mux (RFC 5761) offered; callrec's rewritten SDP never offers or accepts it. */
  readonly rtcpMux: boolean;
  /** Effective direction: media-level over session-level over sendrecv, legacy hold applied. */
  readonly direction: MediaDirection;
  /** True when c= is the unspecified address, the pre-RFC 3264 way to hold (RFC 3264 §8.4). */
  readonly legacyHold: boolean;
  /** Transport protocol, e.g. "RTP/AVP", "RTP/SAVP". */
  readonly protocol: string;
  /** Payload formats in m= line order (preference order). */
  readonly formats: readonly SdpPayloadFormat[];
  /** a=ptime in milliseconds, if given. */
  readonly ptime: number | undefined;
}

/** The o= line (RFC 4566 §5.2); numbers kept as decimal strings, they may exceed 2^53. */
export interface SdpOrigin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly address: string;
}

/** Typed summary of an SDP body. `audio` is undefined when there is no audio m= line. */
export interface SdpSummary {
  readonly origin: SdpOrigin;
  readonly audio: SdpAudio | undefined;
  /** Number of m= lines of any media type. */
  readonly mediaCount: number;
}

/** RFC 3551 §6 static audio payload types, used when an m= line lists one without a=rtpmap. */
const STATIC_AUDIO: ReadonlyMap<number, readonly [string, number, number]> = new Map([
  [0, ['PCMU', 8000, 1]],
  [3, ['GSM', 8000, 1]],
  [4, ['G723', 8000, 1]],
  [5, ['DVI4', 8000, 1]],
  [6, ['DVI4', 16000, 1]],
  [7, ['LPC', 8000, 1]],
  [8, ['PCMA', 8000, 1]],
  [9, ['G722', 8000, 1]],
  [10, ['L16', 44100, 2]],
  [11, ['L16', 44100, 1]],
  [12, ['QCELP', 8000, 1]],
  [13, ['CN', 8000, 1]],
  [14, ['MPA', 90000, 1]],
  [15, ['G728', 8000, 1]],
  [16, ['DVI4', 11025, 1]],
  [17, ['DVI4', 22050, 1]],
  [18, ['G729', 8000, 1]],
]);

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** Parses an SDP body into a typed summary of its first audio stream (RFC 4566, RFC 3264). */
export function parseSessionDescription(sdp: string): SdpResult<SdpSummary> {
  const tree = parseSdpTree(sdp);
  return tree.ok ? summarizeSdpTree(tree.value) : tree;
}

/** Parses with sdp-transform after the checks it does not make (it skips lines it cannot read). */
export function parseSdpTree(sdp: string): SdpResult<SessionDescription> {
  const text = sdp.replace(/^\uFEFF/, '').trimStart();
  if (!/^v=0[ \t]*(\r\n|\r|\n|$)/.test(text)) return failure('SDP does not start with v=0');
  for (const [index, line] of text.split(/\r\n|\r|\n/).entries()) {
    // RFC 4566 §5: one v= line, the first; sdp-transform would keep the last and write it first
    if (index > 0 && line.startsWith('v=')) return failure('SDP has more than one v= line');
    if (line === '' || /^[a-z]=/.test(line)) continue;
    return failure(`SDP line is not <type>=<value>: ${JSON.stringify(line.slice(0, 60))}`);
  }
  let tree: SessionDescription;
  try {
    tree = parse(text);
  } catch (cause) {
    return failure('SDP could not be parsed', cause);
  }
  // sdp-transform reads t= as numbers and would write 1e+23 (not SDP) for what it cannot hold
  const timing = tree.timing;
  if (timing !== undefined && !(Number.isSafeInteger(timing.start) && Number.isSafeInteger(timing.stop))) {
    return failure('SDP t= line out of range');
  }
  if (!/(^|[\r\n])o=/.test(text) || tree.origin === undefined) return failure('SDP has no valid o= line');
  for (const media of tree.media) {
    if (typeof media.type !== 'string' || media.type === '' || !isPort(media.port)) {
      return failure('SDP has a malformed m= line');
    }
  }
  return { ok: true, value: tree };
}

/** Builds the summary from an sdp-transform tree checked by parseSdpTree. */
export function summarizeSdpTree(tree: SessionDescription): SdpResult<SdpSummary> {
  const origin: SdpOrigin = {
    username: String(tree.origin.username),
    sessionId: String(tree.origin.sessionId),
    sessionVersion: String(tree.origin.sessionVersion),
    address: String(tree.origin.address),
  };
  const mediaIndex = tree.media.findIndex((m) => m.type === 'audio');
  const media = tree.media[mediaIndex];
  if (media === undefined) return { ok: true, value: { origin, audio: undefined, mediaCount: tree.media.length } };

  const connection = media.connection ?? tree.connection;
  const rtpPort = Number(media.port);
  const address = connection === undefined ? '' : String(connection.ip);
  if (rtpPort !== 0 && address === '') return failure('audio m= line has no c= line (session or media level)');
  const addressFamily = connection?.version === 6 ? 6 : 4;
  const legacyHold = address === '0.0.0.0' || (isIP(address) === 6 && /^[0:]+$/.test(address));

  let direction = directionOf(media) ?? directionOf(tree) ?? 'sendrecv';
  if (legacyHold) direction = direction === 'sendrecv' || direction === 'sendonly' ? 'sendonly' : 'inactive';

  const rtcp = media.rtcp;
  const rtcpPort =
    rtpPort === 0 ? 0 : rtcp !== undefined && isPort(rtcp.port) && rtcp.port > 0 ? rtcp.port : rtpPort + 1;
  const rtcpAddress = rtcp?.address !== undefined && rtcp.address !== '' ? String(rtcp.address) : address;
  const ptime = media.ptime !== undefined && Number(media.ptime) > 0 ? Number(media.ptime) : undefined;

  return {
    ok: true,
    value: {
      origin,
      mediaCount: tree.media.length,
      audio: {
        mediaIndex,
        address,
        addressFamily,
        rtpPort,
        rtcpPort,
        rtcpAddress,
        rtcpMux: media.rtcpMux !== undefined,
        direction,
        legacyHold,
        protocol: String(media.protocol),
        formats: payloadFormatsOf(media),
        ptime,
      },
    },
  };
}

/** The payload formats of an m= line in m= order, from a=rtpmap or the RFC 3551 static table. */
export function payloadFormatsOf(media: MediaDescription): SdpPayloadFormat[] {
  const formats: SdpPayloadFormat[] = [];
  for (const token of payloadTypesOf(media)) {
    const payloadType = Number(token);
    const rtpmap = media.rtp.find((r) => Number(r.payload) === payloadType);
    const fmtp = media.fmtp.find((f) => Number(f.payload) === payloadType)?.config;
    const fixed = STATIC_AUDIO.get(payloadType);
    const format =
      rtpmap !== undefined
        ? {
            payloadType,
            encoding: String(rtpmap.codec).toUpperCase(),
            clockRate: Number(rtpmap.rate ?? fixed?.[1] ?? 0),
            channels: rtpmap.encoding === undefined ? 1 : Number(rtpmap.encoding) || 1,
          }
        : fixed !== undefined
          ? { payloadType, encoding: fixed[0], clockRate: fixed[1], channels: fixed[2] }
          : { payloadType, encoding: '', clockRate: 0, channels: 1 };
    formats.push(fmtp === undefined ? format : { ...format, fmtp: String(fmtp) });
  }
  return formats;
}

/** The numeric fmt tokens of an m= line (sdp-transform turns a single "0" into a number). */
export function payloadTypesOf(media: MediaDescription): string[] {
  return String(media.payloads ?? '')
    .split(/\s+/)
    .filter((token) => /^\d{1,3}$/.test(token) && Number(token) <= 127);
}

function directionOf(level: { direction?: string }): MediaDirection | undefined {
  const value = level.direction;
  return value !== undefined && DIRECTIONS.has(value) ? (value as MediaDirection) : undefined;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

/** A MEDIA_SDP failure result. */
export function failure(message: string, cause?: unknown): { readonly ok: false; readonly error: AppError } {
  return { ok: false, error: new AppError('MEDIA_SDP', message, cause === undefined ? {} : { cause }) };
}
