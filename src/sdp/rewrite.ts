import { isIP } from 'node:net';
import { write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import type { SdpOriginState } from './sdp-origin-state.js';
import {
  failure,
  parseSdpTree,
  summarizeSdpTree,
  type SdpPayloadFormat,
  type SdpResult,
  type SdpSummary,
} from './session-description.js';

/** Where callrec anchors the audio stream of one leg. */
export interface AnchorOptions {
  /** Address written into c=, o= and a=rtcp (IPv4 → `IN IP4`, IPv6 → `IN IP6`). */
  readonly address: string;
  /** callrec's RTP port for this leg (even, RFC 3550 §11). */
  readonly rtpPort: number;
  /** callrec's RTCP port for this leg, written as a=rtcp (RFC 3605). */
  readonly rtcpPort: number;
  /** The o= state of the leg this SDP is sent to (one per leg, kept for the whole call). */
  readonly origin: SdpOriginState;
  /**
   * Keeps only the audio payload formats it accepts (telephone-event and CN are always kept);
   * when none is left the result is a MEDIA_SDP error so that the caller can answer 488.
   * @default every format is kept
   */
  readonly restrictTo?: (encoding: string, format: SdpPayloadFormat) => boolean;
}

/** An anchored SDP body plus what it said before anchoring. */
export interface AnchoredSdp {
  /** The SDP to send on, pointing at callrec. */
  readonly sdp: string;
  /** Summary of the input SDP: the far side's address, ports and direction. */
  readonly remote: SdpSummary;
  /** The audio payload formats left in the output (after `restrictTo`), in m= order. */
  readonly formats: readonly SdpPayloadFormat[];
}

/** Formats that are never removed: RFC 4733 events and RFC 3389 comfort noise. */
const ALWAYS_KEPT: ReadonlySet<string> = new Set(['TELEPHONE-EVENT', 'CN']);

/**
 * Rewrites an SDP body so that its audio goes through callrec (media anchoring, SPEC §2):
 * - session and media c= and the o= address become `address`; the o= line comes from `origin`
 *   (stable across re-INVITEs, version incremented only when the body changes — RFC 3264 §8);
 * - the first audio m= line gets `rtpPort` and `a=rtcp:<rtcpPort> IN IP4|IP6 <address>`; an audio
 *   m= line that had port 0 (disabled or rejected) keeps port 0;
 * - every other m= line (video, a second audio stream, T.38 …) is kept in place for the RFC 3264
 *   m= line count but gets port 0: callrec anchors and records the first audio stream only;
 * - ICE (a=candidate, a=ice-*, a=end-of-candidates, a=remote-candidates), a=rtcp-mux and
 *   a=group:BUNDLE are removed: callrec relays plain RTP/RTCP on separate ports and no ICE;
 * - legacy hold (c=0.0.0.0, RFC 3264 §8.4) becomes an explicit a=sendonly / a=inactive, because
 *   the rewritten c= no longer carries it.
 * Other attributes (a=crypto, a=ptime, a=fmtp, direction) pass through unchanged.
 */
export function anchorSdp(sdp: string, options: AnchorOptions): SdpResult<AnchoredSdp> {
  const family = isIP(options.address);
  if (family === 0) return failure(`anchor address is not an IP address: ${options.address}`);
  const tree = parseSdpTree(sdp);
  if (!tree.ok) return tree;
  const summary = summarizeSdpTree(tree.value);
  if (!summary.ok) return summary;
  const session = tree.value;
  const remote = summary.value;
  const audio = remote.audio;
  const anchored = audio !== undefined && audio.rtpPort !== 0;

  let formats: readonly SdpPayloadFormat[] = audio?.formats ?? [];
  if (anchored && options.restrictTo !== undefined) {
    const restrict = options.restrictTo;
    formats = formats.filter((f) => ALWAYS_KEPT.has(f.encoding) || restrict(f.encoding, f));
    if (!formats.some((f) => !ALWAYS_KEPT.has(f.encoding))) {
      const offered = audio.formats.map((f) => f.encoding || String(f.payloadType)).join(', ');
      return failure(`no acceptable audio codec left in the SDP (offered: ${offered || 'none'})`);
    }
  }

  const connection = { version: family, ip: options.address };
  session.connection = connection;
  stripSessionTransport(session);
  session.media.forEach((media, index) => {
    stripMediaTransport(media);
    if (media.connection !== undefined) media.connection = { ...connection };
    if (audio !== undefined && index === audio.mediaIndex && anchored) {
      media.port = options.rtpPort;
      media.rtcp = { port: options.rtcpPort, netType: 'IN', ipVer: family, address: options.address };
      if (audio.legacyHold) media.direction = audio.direction;
      if (options.restrictTo !== undefined) keepFormats(media, formats);
    } else {
      media.port = 0;
    }
  });

  const lines = write(session).split('\r\n');
  const originIndex = lines.findIndex((line) => line.startsWith('o='));
  if (originIndex < 0) return failure('SDP has no o= line to rewrite');
  lines.splice(originIndex, 1);
  const origin = options.origin.next(lines.join('\r\n'), {
    username: remote.origin.username,
    sessionId: remote.origin.sessionId,
    sessionVersion: remote.origin.sessionVersion,
  });
  const ipVersion = family === 6 ? 'IP6' : 'IP4';
  lines.splice(
    originIndex,
    0,
    `o=${origin.username} ${origin.sessionId} ${origin.sessionVersion} IN ${ipVersion} ${options.address}`,
  );
  return { ok: true, value: { sdp: lines.join('\r\n'), remote, formats } };
}

function stripSessionTransport(session: SessionDescription): void {
  delete session.icelite;
  delete session.iceUfrag;
  delete session.icePwd;
  delete session.iceOptions;
  if (session.groups !== undefined) {
    // String(): sdp-transform reads a numeric group type (a=group:65536 0) as a number
    const groups = session.groups.filter((group) => String(group.type).toUpperCase() !== 'BUNDLE');
    if (groups.length > 0) session.groups = groups;
    else delete session.groups;
  }
  session.invalid = keepValid(session.invalid);
}

function stripMediaTransport(media: MediaDescription): void {
  delete media.candidates;
  delete media.endOfCandidates;
  delete media.remoteCandidates;
  delete media.iceUfrag;
  delete media.icePwd;
  delete media.iceOptions;
  delete media.rtcpMux;
  delete media.rtcp;
  media.invalid = keepValid(media.invalid);
}

/** Drops unparsed ICE and rtcp attributes that sdp-transform left verbatim. */
function keepValid(invalid: { value: string }[] | undefined): { value: string }[] | undefined {
  if (invalid === undefined) return undefined;
  const kept = invalid.filter(
    (line) => !/^(ice-|candidate:|end-of-candidates|remote-candidates|rtcp)/.test(line.value),
  );
  return kept.length > 0 ? kept : undefined;
}

/** Limits the m= fmt list, a=rtpmap, a=fmtp and a=rtcp-fb to `formats`. */
function keepFormats(media: MediaDescription, formats: readonly SdpPayloadFormat[]): void {
  const kept = new Set(formats.map((f) => f.payloadType));
  media.payloads = formats.map((f) => f.payloadType).join(' ');
  media.rtp = media.rtp.filter((r) => kept.has(Number(r.payload)));
  media.fmtp = media.fmtp.filter((f) => kept.has(Number(f.payload)));
  if (media.rtcpFb !== undefined) {
    media.rtcpFb = media.rtcpFb.filter((fb) => fb.payload === '*' || kept.has(Number(fb.payload)));
  }
}
