/** Valid SDP offers and answers the SDP fuzzer mutates: the unit-test samples plus a few more shapes. */
import * as samples from '../unit/sdp/sdp-samples.js';

function sdp(...lines: string[]): string {
  return lines.join('\r\n') + '\r\n';
}

const EXTRA = [
  // WebRTC-style: BUNDLE, rtcp-mux, SRTP (SAVPF), rtcp-fb, extmap, ssrc lines, two m= lines
  sdp(
    'v=0',
    'o=mozilla...THIS_IS_SDPARTA-99.0 3447452436263931227 0 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=fingerprint:sha-256 5E:7B:1A:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8',
    'a=group:BUNDLE 0 1',
    'a=ice-options:trickle',
    'a=msid-semantic:WMS *',
    'm=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101',
    'c=IN IP4 0.0.0.0',
    'a=sendrecv',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1',
    'a=fmtp:101 0-15',
    'a=ice-pwd:e4a5c2a1b3d4e5f6a7b8c9d0e1f2a3b4',
    'a=ice-ufrag:2f3e4d5c',
    'a=mid:0',
    'a=rtcp-mux',
    'a=rtcp-fb:109 nack',
    'a=rtpmap:109 opus/48000/2',
    'a=rtpmap:9 G722/8000/1',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000/1',
    'a=setup:actpass',
    'a=ssrc:1457306263 cname:{d5c5b4a3-1111-2222-3333-444455556666}',
    'm=video 9 UDP/TLS/RTP/SAVPF 120',
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    'a=rtpmap:120 VP8/90000',
  ),
  // SDES-SRTP offer from an SBC, ptime and maxptime, a=rtcp with an address
  sdp(
    'v=0',
    'o=SBC 1001 1002 IN IP4 198.51.100.7',
    's=SBC',
    'c=IN IP4 198.51.100.7',
    't=0 0',
    'm=audio 30000 RTP/SAVP 8 0 101',
    'a=rtcp:30001 IN IP4 198.51.100.8',
    'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-16',
    'a=ptime:20',
    'a=maxptime:150',
    'a=sendrecv',
  ),
  // Two audio streams and bare LF line endings; G.722 and L16 wideband
  [
    'v=0',
    'o=- 7 7 IN IP6 2001:db8::7',
    's=-',
    'c=IN IP6 2001:db8::7',
    't=0 0',
    'm=audio 40000 RTP/AVP 9 96',
    'a=rtpmap:96 L16/16000',
    'a=inactive',
    'm=audio 40002 RTP/AVP 0',
    'a=recvonly',
    '',
  ].join('\n'),
  // Minimal answer: session-level direction, media-level c= overriding the session's
  sdp(
    'v=0',
    'o=- 0 0 IN IP4 192.0.2.1',
    's= ',
    'c=IN IP4 192.0.2.1',
    't=0 0',
    'a=sendonly',
    'm=audio 6000 RTP/AVP 18',
    'c=IN IP4 192.0.2.2',
    'a=fmtp:18 annexb=no',
  ),
];

/** Every sample as a string (the fuzzer mutates bytes and strings). */
export function sdpCorpus(): string[] {
  const fromSamples = Object.values(samples).filter((value): value is string => typeof value === 'string');
  return [...fromSamples, ...EXTRA];
}
