/**
 * parseSessionDescription (SPEC §2 media anchoring) on SDP as real equipment sends it:
 * - RFC 4566 §5.7: a media-level c= overrides the session-level one;
 * - RFC 3605: a=rtcp gives the RTCP port (and address), else RTP port + 1 (RFC 3550 §11);
 * - RFC 3264 §6.1 / RFC 4566 §6: direction media-level over session-level, default sendrecv;
 *   RFC 3264 §8.4: c=0.0.0.0 is the legacy way to hold;
 * - RFC 3551 §6: static payload types without a=rtpmap;
 * - no audio m= line is not an error; malformed SDP is a MEDIA_SDP result, never a throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSessionDescription, type SdpAudio, type SdpSummary } from '../../../src/sdp/index.js';
import {
  ASTERISK_HOLD,
  ASTERISK_OFFER,
  AUDIO_REJECTED,
  CARRIER_OFFER,
  FREESWITCH_OFFER,
  HUGE_VERSION,
  ICE_OFFER,
  IPV6_ANSWER,
  LEGACY_HOLD,
  SESSION_LEVEL_RECVONLY,
  T38_REINVITE,
} from './sdp-samples.js';

function summary(sdp: string): SdpSummary {
  const result = parseSessionDescription(sdp);
  if (!result.ok) assert.fail(`unexpected error: ${result.error.message}`);
  return result.value;
}

function audio(sdp: string): SdpAudio {
  const found = summary(sdp).audio;
  assert.ok(found !== undefined, 'audio m= line expected');
  return found;
}

function encodings(sdp: string): string[] {
  return audio(sdp).formats.map((f) => `${f.payloadType} ${f.encoding}/${f.clockRate}`);
}

describe('parseSessionDescription', () => {
  it('reads an Asterisk offer: session-level c=, RTCP on port + 1, formats in m= order, ptime', () => {
    const a = audio(ASTERISK_OFFER);
    assert.equal(a.address, '10.20.0.5');
    assert.equal(a.addressFamily, 4);
    assert.equal(a.rtpPort, 10040);
    assert.equal(a.rtcpPort, 10041);
    assert.equal(a.rtcpAddress, '10.20.0.5');
    assert.equal(a.direction, 'sendrecv');
    assert.equal(a.legacyHold, false);
    assert.equal(a.protocol, 'RTP/AVP');
    assert.equal(a.ptime, 20);
    assert.deepEqual(encodings(ASTERISK_OFFER), [
      '8 PCMA/8000',
      '0 PCMU/8000',
      '3 GSM/8000',
      '9 G722/8000',
      '101 TELEPHONE-EVENT/8000',
    ]);
    assert.equal(a.formats[4]?.fmtp, '0-16');
    assert.deepEqual(summary(ASTERISK_OFFER).origin, {
      username: '-',
      sessionId: '1728394021',
      sessionVersion: '1728394021',
      address: '10.20.0.5',
    });
  });

  it('takes the RTCP port from a=rtcp (RFC 3605) and finds audio before video', () => {
    const s = summary(FREESWITCH_OFFER);
    assert.equal(s.mediaCount, 2);
    assert.equal(s.audio?.mediaIndex, 0);
    assert.equal(s.audio?.rtcpPort, 16385);
    assert.deepEqual(
      s.audio?.formats.map((f) => f.encoding),
      ['G722', 'PCMU', 'PCMA', 'TELEPHONE-EVENT', 'CN'],
    );
  });

  it('prefers the media-level c= and knows static types without a=rtpmap (RFC 3551)', () => {
    const a = audio(CARRIER_OFFER);
    assert.equal(a.address, '198.51.100.21');
    assert.equal(a.rtcpPort, 42901);
    assert.equal(a.rtcpAddress, '198.51.100.22');
    assert.equal(a.ptime, undefined);
    assert.deepEqual(encodings(CARRIER_OFFER), [
      '18 G729/8000',
      '8 PCMA/8000',
      '0 PCMU/8000',
      '101 TELEPHONE-EVENT/8000',
    ]);
    assert.equal(a.formats[0]?.fmtp, 'annexb=no');
  });

  it('reads IPv6 connection data and dynamic types with their clock rate', () => {
    const a = audio(IPV6_ANSWER);
    assert.equal(a.address, '2001:db8::10');
    assert.equal(a.addressFamily, 6);
    assert.deepEqual(a.formats[1], { payloadType: 96, encoding: 'L16', clockRate: 16000, channels: 1 });
  });

  it('reports a=sendonly hold and a session-level direction', () => {
    assert.equal(audio(ASTERISK_HOLD).direction, 'sendonly');
    assert.equal(audio(SESSION_LEVEL_RECVONLY).direction, 'recvonly');
    const mediaWins = SESSION_LEVEL_RECVONLY.replace(
      'm=audio 7078 RTP/AVP 8\r\n',
      'm=audio 7078 RTP/AVP 8\r\na=inactive\r\n',
    );
    assert.equal(audio(mediaWins).direction, 'inactive');
  });

  it('treats c=0.0.0.0 as hold (RFC 3264 §8.4): sendrecv becomes sendonly, recvonly inactive', () => {
    const hold = audio(LEGACY_HOLD);
    assert.equal(hold.legacyHold, true);
    assert.equal(hold.direction, 'sendonly');
    assert.equal(hold.address, '0.0.0.0');
    assert.equal(audio(LEGACY_HOLD + 'a=recvonly\r\n').direction, 'inactive');
  });

  it('reports rtcp-mux and keeps an a=rtcp port as given', () => {
    const a = audio(ICE_OFFER);
    assert.equal(a.rtcpMux, true);
    assert.equal(a.address, '203.0.113.1');
    assert.equal(a.rtcpPort, 9);
    assert.equal(audio(ASTERISK_OFFER).rtcpMux, false);
  });

  it('returns no audio for an SDP without an audio m= line (T.38)', () => {
    const s = summary(T38_REINVITE);
    assert.equal(s.audio, undefined);
    assert.equal(s.mediaCount, 1);
    assert.equal(summary('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n').audio, undefined);
  });

  it('accepts a rejected audio stream (port 0) without c=', () => {
    const a = audio(AUDIO_REJECTED.replace('c=IN IP4 192.0.2.10\r\n', ''));
    assert.equal(a.rtpPort, 0);
    assert.equal(a.rtcpPort, 0);
  });

  it('keeps o= numbers beyond 2^53 exact', () => {
    assert.equal(summary(HUGE_VERSION).origin.sessionVersion, '9223372036854775806');
    assert.equal(summary(HUGE_VERSION).origin.sessionId, '9223372036854775000');
  });

  it('accepts LF-only line ends and a byte order mark', () => {
    assert.equal(audio('\uFEFF' + ASTERISK_OFFER.replaceAll('\r\n', '\n')).rtpPort, 10040);
  });

  for (const [name, body] of [
    ['an empty body', ''],
    ['plain text', 'hello world'],
    ['a SIP message instead of SDP', 'INVITE sip:bob@example.com SIP/2.0\r\n'],
    ['v=1', ASTERISK_OFFER.replace('v=0', 'v=1')],
    ['no o= line', ASTERISK_OFFER.replace(/o=.*\r\n/, '')],
    ['a broken o= line', ASTERISK_OFFER.replace(/o=.*\r\n/, 'o=broken\r\n')],
    ['a line that is not <type>=<value>', ASTERISK_OFFER + 'garbage line\r\n'],
    ['a non-numeric m= port', ASTERISK_OFFER.replace('m=audio 10040', 'm=audio abc')],
    ['an m= port above 65535', ASTERISK_OFFER.replace('m=audio 10040', 'm=audio 70000')],
    ['audio without any c= line', ASTERISK_OFFER.replace('c=IN IP4 10.20.0.5\r\n', '')],
    // found by the SDP fuzzer: sdp-transform keeps the last v= and writes it first
    ['a second v= line', ASTERISK_OFFER.replace('s=', 'v=1\r\ns=')],
    // found by the SDP fuzzer: sdp-transform would write t=1e+23
    ['a t= time beyond 2^53', ASTERISK_OFFER.replace(/t=.*\r\n/, 't=99999999999999999999999 0\r\n')],
  ] as const) {
    it(`returns MEDIA_SDP for ${name}`, () => {
      const result = parseSessionDescription(body);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, 'MEDIA_SDP');
    });
  }
});
