/**
 * anchorSdp and SdpOriginState (SPEC §2 media anchoring, RFC 3264):
 * - c= (session and media level), the o= address, the audio m= port and a=rtcp (RFC 3605) point
 *   at callrec, in IPv4 or IPv6 (`IN IP6`) form;
 * - every other m= line stays in place with port 0 (RFC 3264 §6 keeps the m= line count);
 * - ICE, a=rtcp-mux and BUNDLE are removed; legacy hold (c=0.0.0.0) becomes explicit;
 * - restrictTo keeps recordable formats plus telephone-event and CN, fails when none is left;
 * - RFC 3264 §8: o= username and session id stay stable per leg, the version increments only
 *   when the body changes, also beyond 2^53.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  anchorSdp,
  parseSessionDescription,
  SdpOriginState,
  type AnchoredSdp,
  type AnchorOptions,
  type SdpAudio,
} from '../../../src/sdp/index.js';
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
  T38_REINVITE,
} from './sdp-samples.js';

const RECORDABLE = new Set(['PCMU', 'PCMA', 'G722', 'L16']);

function anchor(sdp: string, options: Partial<AnchorOptions> = {}): AnchoredSdp {
  const result = anchorSdp(sdp, {
    address: '203.0.113.50',
    rtpPort: 30000,
    rtcpPort: 30001,
    origin: new SdpOriginState(),
    ...options,
  });
  if (!result.ok) assert.fail(`unexpected error: ${result.error.message}`);
  return result.value;
}

function lines(sdp: string, prefix: string): string[] {
  return sdp.split('\r\n').filter((line) => line.startsWith(prefix));
}

function reparsed(sdp: string): SdpAudio {
  const result = parseSessionDescription(sdp);
  assert.ok(result.ok && result.value.audio !== undefined, 'the output parses and has audio');
  return result.value.audio;
}

describe('anchorSdp', () => {
  it('points c=, o=, m= and a=rtcp of an Asterisk offer at callrec and keeps the rest', () => {
    const { sdp, remote } = anchor(ASTERISK_OFFER);
    assert.deepEqual(lines(sdp, 'c='), ['c=IN IP4 203.0.113.50']);
    assert.deepEqual(lines(sdp, 'o='), ['o=- 1728394021 1728394021 IN IP4 203.0.113.50']);
    assert.deepEqual(lines(sdp, 'm='), ['m=audio 30000 RTP/AVP 8 0 3 9 101']);
    assert.deepEqual(lines(sdp, 'a=rtcp:'), ['a=rtcp:30001 IN IP4 203.0.113.50']);
    for (const kept of ['a=ptime:20', 'a=maxptime:150', 'a=sendrecv', 'a=fmtp:101 0-16', 's=Asterisk', 't=0 0']) {
      assert.ok(sdp.includes(`${kept}\r\n`), `${kept} kept`);
    }
    assert.ok(!sdp.includes('10.20.0.5'), 'no trace of the far side address');
    assert.ok(sdp.endsWith('\r\n'));
    assert.equal(remote.audio?.address, '10.20.0.5');
    assert.equal(remote.audio?.rtpPort, 10040);
    const again = reparsed(sdp);
    assert.equal(again.address, '203.0.113.50');
    assert.equal(again.rtcpPort, 30001);
  });

  it('rewrites a media-level c= and an a=rtcp on another host (carrier SBC)', () => {
    const { sdp } = anchor(CARRIER_OFFER);
    assert.deepEqual(lines(sdp, 'c='), ['c=IN IP4 203.0.113.50', 'c=IN IP4 203.0.113.50']);
    assert.deepEqual(lines(sdp, 'a=rtcp:'), ['a=rtcp:30001 IN IP4 203.0.113.50']);
    assert.ok(!/198\.51\.100/.test(sdp));
    assert.ok(sdp.includes('a=fmtp:18 annexb=no\r\n'));
  });

  it('writes IN IP6 for an IPv6 anchor and IN IP4 for an IPv4 one, whatever the input was', () => {
    const v6 = anchor(ASTERISK_OFFER, { address: '2001:db8::50' }).sdp;
    assert.deepEqual(lines(v6, 'c='), ['c=IN IP6 2001:db8::50']);
    assert.deepEqual(lines(v6, 'o='), ['o=- 1728394021 1728394021 IN IP6 2001:db8::50']);
    assert.deepEqual(lines(v6, 'a=rtcp:'), ['a=rtcp:30001 IN IP6 2001:db8::50']);
    assert.equal(reparsed(v6).addressFamily, 6);
    const v4 = anchor(IPV6_ANSWER).sdp;
    assert.deepEqual(lines(v4, 'c='), ['c=IN IP4 203.0.113.50']);
    assert.ok(!v4.includes('IP6'));
  });

  it('keeps a video m= line in place with port 0 (callrec anchors audio only)', () => {
    const { sdp } = anchor(FREESWITCH_OFFER);
    assert.deepEqual(lines(sdp, 'm='), ['m=audio 30000 RTP/AVP 9 0 8 101 13', 'm=video 0 RTP/AVP 96']);
    assert.deepEqual(lines(sdp, 'a=rtcp:'), ['a=rtcp:30001 IN IP4 203.0.113.50']);
  });

  it('removes ICE, rtcp-mux and BUNDLE but keeps the mid', () => {
    const { sdp } = anchor(ICE_OFFER);
    for (const gone of ['a=candidate', 'a=ice-', 'a=end-of-candidates', 'a=rtcp-mux', 'a=group:BUNDLE', '192.168.']) {
      assert.ok(!sdp.includes(gone), `${gone} removed`);
    }
    assert.ok(sdp.includes('a=mid:0\r\n'));
    assert.deepEqual(lines(sdp, 'a=rtcp:'), ['a=rtcp:30001 IN IP4 203.0.113.50']);
  });

  it('makes legacy hold explicit (a=sendonly) because c= now carries callrec', () => {
    const { sdp, remote } = anchor(LEGACY_HOLD);
    assert.deepEqual(lines(sdp, 'c='), ['c=IN IP4 203.0.113.50']);
    assert.deepEqual(lines(sdp, 'a=sendonly'), ['a=sendonly']);
    assert.equal(remote.audio?.legacyHold, true);
    assert.equal(reparsed(sdp).direction, 'sendonly');
    assert.deepEqual(lines(anchor(ASTERISK_HOLD).sdp, 'a=sendonly'), ['a=sendonly']);
  });

  it('leaves a rejected audio stream at port 0 without a=rtcp', () => {
    const { sdp } = anchor(AUDIO_REJECTED);
    assert.deepEqual(lines(sdp, 'm='), ['m=audio 0 RTP/AVP 0']);
    assert.deepEqual(lines(sdp, 'a=rtcp'), []);
  });

  it('rewrites an SDP without audio, rejecting its streams, and reports no audio', () => {
    const { sdp, remote } = anchor(T38_REINVITE);
    assert.equal(remote.audio, undefined);
    assert.deepEqual(lines(sdp, 'm='), ['m=image 0 udptl t38']);
    assert.ok(sdp.includes('a=T38FaxVersion:0\r\n'));
  });

  it('restrictTo removes other codecs with their rtpmap/fmtp lines but keeps telephone-event and CN', () => {
    const restrictTo = (encoding: string): boolean => RECORDABLE.has(encoding);
    const carrier = anchor(CARRIER_OFFER, { restrictTo });
    assert.deepEqual(lines(carrier.sdp, 'm='), ['m=audio 30000 RTP/AVP 8 0 101']);
    assert.ok(!carrier.sdp.includes('annexb'), 'the G.729 fmtp is gone');
    assert.deepEqual(
      carrier.formats.map((f) => f.encoding),
      ['PCMA', 'PCMU', 'TELEPHONE-EVENT'],
    );
    const asterisk = anchor(ASTERISK_OFFER, { restrictTo });
    assert.deepEqual(lines(asterisk.sdp, 'm='), ['m=audio 30000 RTP/AVP 8 0 9 101']);
    assert.ok(!asterisk.sdp.includes('GSM'));
    const fs = anchor(FREESWITCH_OFFER, { restrictTo: (encoding) => encoding === 'PCMA' });
    assert.deepEqual(lines(fs.sdp, 'm='), ['m=audio 30000 RTP/AVP 8 101 13', 'm=video 0 RTP/AVP 96']);
  });

  it('restrictTo fails with MEDIA_SDP when nothing recordable is left (the B2BUA answers 488)', () => {
    const g729Only = CARRIER_OFFER.replace('m=audio 42376 RTP/AVP 18 8 0 101', 'm=audio 42376 RTP/AVP 18 101');
    const result = anchorSdp(g729Only, {
      address: '203.0.113.50',
      rtpPort: 30000,
      rtcpPort: 30001,
      origin: new SdpOriginState(),
      restrictTo: (encoding) => RECORDABLE.has(encoding),
    });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.error.code, 'MEDIA_SDP');
      assert.match(result.error.message, /G729/);
    }
  });

  it('returns MEDIA_SDP for garbage and for an anchor address that is not an IP', () => {
    const origin = new SdpOriginState();
    const garbage = anchorSdp('not sdp', { address: '203.0.113.50', rtpPort: 1, rtcpPort: 2, origin });
    assert.equal(garbage.ok ? 'ok' : garbage.error.code, 'MEDIA_SDP');
    const badAddress = anchorSdp(ASTERISK_OFFER, { address: 'callrec.example', rtpPort: 1, rtcpPort: 2, origin });
    assert.equal(badAddress.ok ? 'ok' : badAddress.error.code, 'MEDIA_SDP');
    assert.equal(origin.sessionVersion, undefined, 'failures do not consume a version');
  });
});

describe('SdpOriginState', () => {
  it('keeps o= stable for an unchanged re-INVITE and increments it when the body changes (RFC 3264 §8)', () => {
    const origin = new SdpOriginState();
    const first = anchor(ASTERISK_OFFER, { origin }).sdp;
    const refresh = anchor(ASTERISK_OFFER, { origin }).sdp;
    assert.equal(refresh, first, 'a session refresh repeats the same SDP');
    const hold = anchor(ASTERISK_HOLD, { origin }).sdp;
    assert.deepEqual(lines(hold, 'o='), ['o=- 1728394021 1728394022 IN IP4 203.0.113.50']);
    const resume = anchor(ASTERISK_OFFER, { origin }).sdp;
    assert.deepEqual(lines(resume, 'o='), ['o=- 1728394021 1728394023 IN IP4 203.0.113.50']);
    const movedPort = anchor(ASTERISK_OFFER, { origin, rtpPort: 30010, rtcpPort: 30011 }).sdp;
    assert.deepEqual(lines(movedPort, 'o='), ['o=- 1728394021 1728394024 IN IP4 203.0.113.50']);
  });

  it('keeps its username and session id when the far side starts a new session (transfer)', () => {
    const origin = new SdpOriginState();
    anchor(ASTERISK_OFFER, { origin });
    const other = anchor(FREESWITCH_OFFER, { origin }).sdp;
    assert.deepEqual(lines(other, 'o='), ['o=- 1728394021 1728394022 IN IP4 203.0.113.50']);
  });

  it('uses a configured username and session id instead of the far side ones', () => {
    const origin = new SdpOriginState({ username: 'callrec', sessionId: '42' });
    assert.deepEqual(lines(anchor(FREESWITCH_OFFER, { origin }).sdp, 'o='), [
      'o=callrec 42 1699990001 IN IP4 203.0.113.50',
    ]);
  });

  it('increments versions beyond 2^53 exactly', () => {
    const origin = new SdpOriginState();
    assert.deepEqual(lines(anchor(HUGE_VERSION, { origin }).sdp, 'o='), [
      'o=- 9223372036854775000 9223372036854775806 IN IP4 203.0.113.50',
    ]);
    anchor(HUGE_VERSION, { origin, rtpPort: 30002 });
    assert.equal(origin.sessionVersion, '9223372036854775807');
  });

  it('keeps a numeric a=group type (found by the SDP fuzzer: it used to throw) and drops BUNDLE', () => {
    const { sdp } = anchor(ASTERISK_OFFER.replace('t=0 0\r\n', 't=0 0\r\na=group:65536 0\r\na=group:BUNDLE 0\r\n'));
    assert.deepEqual(lines(sdp, 'a=group:'), ['a=group:65536 0']);
    reparsed(sdp);
  });

  it('keeps one state per leg: each side sees its own versions', () => {
    const towardA = new SdpOriginState();
    const towardB = new SdpOriginState();
    anchor(ASTERISK_OFFER, { origin: towardB });
    anchor(IPV6_ANSWER, { origin: towardA });
    anchor(ASTERISK_HOLD, { origin: towardB });
    assert.equal(towardB.sessionVersion, '1728394022');
    assert.equal(towardA.sessionVersion, '3912345679');
  });
});
