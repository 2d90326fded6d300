/** SDP bodies as real equipment sends them (addresses from the RFC 5737 / RFC 3849 ranges). */

function sdp(...lines: string[]): string {
  return lines.join('\r\n') + '\r\n';
}

/** Asterisk (chan_pjsip) offer: session-level c= only, rtpmap for static types too, maxptime. */
export const ASTERISK_OFFER = sdp(
  'v=0',
  'o=- 1728394021 1728394021 IN IP4 10.20.0.5',
  's=Asterisk',
  'c=IN IP4 10.20.0.5',
  't=0 0',
  'm=audio 10040 RTP/AVP 8 0 3 9 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

/** FreeSWITCH offer with a=rtcp (RFC 3605), CN and a video stream. */
export const FREESWITCH_OFFER = sdp(
  'v=0',
  'o=FreeSWITCH 1699990000 1699990001 IN IP4 192.0.2.10',
  's=FreeSWITCH',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 16384 RTP/AVP 9 0 8 101 13',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtpmap:13 CN/8000',
  'a=ptime:20',
  'a=sendrecv',
  'a=rtcp:16385 IN IP4 192.0.2.10',
  'm=video 16386 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 profile-level-id=42801F',
  'a=sendrecv',
);

/** Carrier SBC offer: media-level c= only, static types without rtpmap, RTCP on another host. */
export const CARRIER_OFFER = sdp(
  'v=0',
  'o=Sonus_UAC 28518 11405 IN IP4 198.51.100.20',
  's=SIP Media Capabilities',
  't=0 0',
  'm=audio 42376 RTP/AVP 18 8 0 101',
  'c=IN IP4 198.51.100.21',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=fmtp:18 annexb=no',
  'a=rtcp:42901 IN IP4 198.51.100.22',
  'a=sendrecv',
  'a=maxptime:30',
);

/** An IPv6 answer (RFC 3264 §6) with a dynamic L16 type. */
export const IPV6_ANSWER = sdp(
  'v=0',
  'o=- 3912345678 3912345679 IN IP6 2001:db8::10',
  's=-',
  'c=IN IP6 2001:db8::10',
  't=0 0',
  'm=audio 20000 RTP/AVP 0 96 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:96 L16/16000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
);

/** Asterisk putting the call on hold (RFC 3264 §8.4: a=sendonly, o= version + 1). */
export const ASTERISK_HOLD = ASTERISK_OFFER.replace('1728394021 1728394021', '1728394021 1728394022').replace(
  'a=sendrecv',
  'a=sendonly',
);

/** Legacy hold (pre-RFC 3264 phones): c=0.0.0.0 and no direction attribute. */
export const LEGACY_HOLD = sdp(
  'v=0',
  'o=Phone 7 8 IN IP4 10.20.0.77',
  's=-',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 5004 RTP/AVP 0',
);

/** Direction only at session level (applies to every m= line, RFC 4566 §6). */
export const SESSION_LEVEL_RECVONLY = sdp(
  'v=0',
  'o=- 1 1 IN IP4 192.0.2.44',
  's=-',
  'c=IN IP4 192.0.2.44',
  't=0 0',
  'a=recvonly',
  'm=audio 7078 RTP/AVP 8',
);

/** A softphone with ICE, rtcp-mux and BUNDLE (what callrec must strip). */
export const ICE_OFFER = sdp(
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=ice-options:trickle',
  'm=audio 54400 RTP/AVP 0 8 101',
  'c=IN IP4 203.0.113.1',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=candidate:0 1 UDP 2113667327 192.168.1.20 54400 typ host',
  'a=candidate:1 1 UDP 1694302207 203.0.113.1 54400 typ srflx raddr 192.168.1.20 rport 54400',
  'a=end-of-candidates',
  'a=ice-ufrag:F7gI',
  'a=ice-pwd:x9cml/YzichV2+XlhiMu8g',
  'a=mid:0',
  'a=rtcp-mux',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
);

/** A T.38 re-INVITE: an m=image stream and no audio. */
export const T38_REINVITE = sdp(
  'v=0',
  'o=- 1728394021 1728394025 IN IP4 10.20.0.5',
  's=-',
  'c=IN IP4 10.20.0.5',
  't=0 0',
  'm=image 4000 udptl t38',
  'a=T38FaxVersion:0',
  'a=T38FaxRateManagement:transferredTCF',
);

/** An answer that rejects audio (port 0) and accepts nothing. */
export const AUDIO_REJECTED = sdp(
  'v=0',
  'o=- 5 6 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 0 RTP/AVP 0',
);

/** An o= version near 2^63: beyond Number precision. */
export const HUGE_VERSION = sdp(
  'v=0',
  'o=- 9223372036854775000 9223372036854775806 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 4000 RTP/AVP 0',
);
