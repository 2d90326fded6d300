/**
 * The media tools of the end-to-end tier work on their own, without callrec:
 * - the tone captures in sipp-scenarios/pcap/ are what bench/tools/generate-tone-pcaps writes, and
 *   read back (with a reader of this file) as libpcap/Ethernet/IPv4/UDP/RTP with valid IPv4
 *   checksums, 1000 packets 20 ms apart, consecutive sequence numbers and timestamps, one SSRC,
 *   and payloads that decode to the expected tone;
 * - audio-analysis reads RIFF and RF64 WAVs (skipping unknown chunks) and finds tones, silence,
 *   onsets and active time;
 * - SIPp 3.6 plays the captures (play_pcap_audio, as root): the media UAC against a Node UAS stub
 *   whose SDP points at a Node socket, the media UAS against a Node UAC stub, and the media pairs
 *   back to back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tonePcap from '../bench/tools/tone-pcap.js';
import { repoRoot } from '../test/support/paths.js';
import * as audio from './support/audio-analysis.js';
import { PBX_IP, reservePort, TRUNK_IP } from './support/b2bua.js';
import * as media from './support/media.js';
import { skipOutsideCi } from '../test/support/skip.js';

const TONES = [media.CALLER_TONE_HZ, media.CALLEE_TONE_HZ, media.THIRD_PARTY_TONE_HZ];

/** A classic libpcap file, read independently of the writer. */
function readPcap(bytes: Buffer): { linkType: number; records: Array<{ timeUs: number; frame: Buffer }> } {
  assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4, 'magic');
  assert.deepEqual([bytes.readUInt16LE(4), bytes.readUInt16LE(6)], [2, 4], 'version 2.4');
  const records = [];
  for (let at = 24; at < bytes.length;) {
    const length = bytes.readUInt32LE(at + 8);
    assert.equal(bytes.readUInt32LE(at + 12), length, 'not truncated');
    const timeUs = bytes.readUInt32LE(at) * 1e6 + bytes.readUInt32LE(at + 4);
    records.push({ timeUs, frame: bytes.subarray(at + 16, at + 16 + length) });
    at += 16 + length;
  }
  return { linkType: bytes.readUInt32LE(20), records };
}

/** The UDP payload of an Ethernet/IPv4/UDP frame, with the IPv4 checksum checked. */
function udpPayload(frame: Buffer): Buffer {
  assert.equal(frame.readUInt16BE(12), 0x0800, 'EtherType IPv4');
  const ip = frame.subarray(14);
  const headerLength = (ip[0]! & 0x0f) * 4;
  assert.equal(ip[0]! >> 4, 4);
  assert.equal(ip[9], 17, 'UDP');
  assert.equal(tonePcap.internetChecksum(ip.subarray(0, headerLength)), 0, 'IPv4 header checksum');
  assert.equal(ip.readUInt16BE(2), ip.length, 'IPv4 total length');
  const udp = ip.subarray(headerLength);
  assert.equal(udp.readUInt16BE(4), udp.length, 'UDP length');
  return udp.subarray(8);
}

describe('tone captures (sipp-scenarios/pcap)', () => {
  it('G.711 coders keep silence and the extremes and round-trip within a quantisation step', () => {
    assert.equal(tonePcap.encodeMuLaw(0), 0xff);
    assert.equal(tonePcap.encodeALaw(0), 0xd5);
    assert.equal(tonePcap.decodeMuLaw(0x00), -32124);
    assert.equal(tonePcap.decodeALaw(0xaa), 32256);
    for (let s = -32768; s < 32768; s += 7) {
      const tolerance = Math.max(16, Math.abs(s) / 16);
      assert.ok(Math.abs(tonePcap.decodeMuLaw(tonePcap.encodeMuLaw(s)) - s) <= tolerance, `µ-law ${s}`);
      assert.ok(Math.abs(tonePcap.decodeALaw(tonePcap.encodeALaw(s)) - s) <= tolerance, `A-law ${s}`);
    }
  });

  for (const pcap of tonePcap.scenarioPcaps()) {
    it(`${pcap.name} is what the generator writes and reads back as its tone`, async () => {
      const bytes = await readFile(join(repoRoot, 'sipp-scenarios', 'pcap', pcap.name));
      assert.ok(
        bytes.equals(tonePcap.scenarioPcapBytes(pcap)),
        'regenerate: node dist/bench/tools/generate-tone-pcaps.js',
      );
      const { linkType, records } = readPcap(bytes);
      assert.equal(linkType, 1, 'Ethernet');
      if (pcap.tone === undefined) return assert.equal(records.length, 0);
      assert.equal(records.length, 1000);
      const packets = records.map((r) => media.parseRtp(udpPayload(r.frame))!);
      packets.forEach((p, i) => {
        assert.equal(p.payloadType, pcap.tone!.payloadType);
        assert.equal(p.sequence, (pcap.tone!.firstSequence + i) & 0xffff);
        assert.equal(p.timestamp, (pcap.tone!.firstTimestamp + i * 160) >>> 0);
        assert.equal(p.ssrc, pcap.tone!.ssrc);
        assert.equal(p.payload.length, 160);
        assert.equal(p.marker, i === 0);
        if (i > 0) assert.equal(records[i]!.timeUs - records[i - 1]!.timeUs, 20_000);
      });
      const samples = media.decodeG711Packets(packets);
      assert.deepEqual(audio.dominantToneSegments(samples, 8000, TONES), [
        { freq: pcap.tone.frequencyHz, startMs: 0, endMs: 20_000 },
      ]);
      const other = pcap.tone.frequencyHz === 440 ? 1000 : 440;
      assert.ok(audio.channelHasToneOnly({ samples, sampleRate: 8000 }, pcap.tone.frequencyHz, other, 40));
      const level = audio.goertzelAmplitude(samples, 800, 160, pcap.tone.frequencyHz, 8000);
      assert.ok(Math.abs(20 * Math.log10(level / 32768) + 12) < 1.5, `-12 dBFS, is ${level}`);
    });
  }
});

/** A WAV with the given 16-bit channels; RF64 with a ds64 chunk, and an odd-sized unknown chunk. */
function wavBytes(channels: Int16Array[], rate: number, rf64: boolean): Buffer {
  const frames = channels[0]!.length;
  const data = Buffer.alloc(frames * channels.length * 2);
  for (let f = 0; f < frames; f++) channels.forEach((c, i) => data.writeInt16LE(c[f]!, (f * channels.length + i) * 2));
  const chunk = (id: string, body: Buffer, size = body.length): Buffer => {
    const head = Buffer.alloc(8);
    head.write(id, 'latin1');
    head.writeUInt32LE(size, 4);
    return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
  };
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0);
  fmt.writeUInt16LE(channels.length, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * channels.length * 2, 8);
  fmt.writeUInt16LE(channels.length * 2, 12);
  fmt.writeUInt16LE(16, 14);
  const ds64 = Buffer.alloc(28);
  ds64.writeBigUInt64LE(BigInt(data.length + 100), 8);
  const body = Buffer.concat([
    ...(rf64 ? [chunk('ds64', ds64)] : []),
    chunk('fmt ', fmt),
    chunk('LIST', Buffer.from('INFOodd')),
    chunk('data', data, rf64 ? 0xffffffff : data.length),
  ]);
  const head = Buffer.alloc(12);
  head.write(rf64 ? 'RF64' : 'RIFF', 'latin1');
  head.writeUInt32LE(rf64 ? 0xffffffff : body.length + 4, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, body]);
}

/** `ms` of silence then `ms` of a tone, as samples. */
function silenceThenTone(rate: number, silenceMs: number, toneMs: number, freq: number): Int16Array {
  const tone = tonePcap.sineSamples(freq, -12, (rate * toneMs) / 1000, rate);
  const out = new Int16Array((rate * silenceMs) / 1000 + tone.length);
  out.set(tone, (rate * silenceMs) / 1000);
  return out;
}

describe('audio analysis', () => {
  for (const rf64 of [false, true]) {
    it(`reads a stereo ${rf64 ? 'RF64' : 'RIFF'} WAV and tells the channels' tones apart`, () => {
      const left = silenceThenTone(16000, 500, 1500, 440);
      const right = silenceThenTone(16000, 1230, 770, 1000);
      const wav = audio.parseWav(wavBytes([left, right], 16000, rf64));
      assert.equal(wav.container, rf64 ? 'RF64' : 'RIFF');
      assert.deepEqual(wav.chunks, [...(rf64 ? ['ds64'] : []), 'fmt ', 'LIST', 'data']);
      assert.equal(wav.frames, 32000);
      const [l, r] = wav.channels as [audio.AudioChannel, audio.AudioChannel];
      assert.deepEqual(audio.dominantToneSegments(l.samples, 16000, TONES), [
        { freq: 'silence', startMs: 0, endMs: 500 },
        { freq: 440, startMs: 500, endMs: 2000 },
      ]);
      assert.ok(audio.channelHasToneOnly(l, 440, 1000) && audio.channelHasToneOnly(r, 1000, 440));
      assert.ok(!audio.channelHasToneOnly(r, 440, 1000));
      assert.equal(audio.activeDurationMs(r.samples, 16000), 780); // 1220-2000: the window the tone starts in
      assert.ok(Math.abs(audio.firstToneOnsetMs(r.samples, 16000, 1000)! - 1230) < 1);
      assert.equal(audio.firstToneOnsetMs(r.samples, 16000, 440), undefined);
    });
  }

  it('reads what sox writes (G.711 A-law kept as WAVE_FORMAT_ALAW)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callrec-wav-'));
    try {
      const path = join(dir, 'alaw.wav');
      execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'a-law', path, 'synth', '1', 'sine', '1000']);
      const wav = await audio.readWav(path);
      assert.equal(wav.format, 6);
      assert.deepEqual(audio.dominantToneSegments(wav.channels[0]!.samples, 8000, TONES), [
        { freq: 1000, startMs: 0, endMs: 1000 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('calls a mix of tones "other" and rejects what is no WAV', () => {
    const mix = tonePcap.sineSamples(440, -18, 1600).map((s, i) => s + tonePcap.sineSamples(1000, -18, 1600)[i]!);
    assert.deepEqual(audio.dominantToneSegments(mix, 8000, TONES), [{ freq: 'other', startMs: 0, endMs: 200 }]);
    assert.throws(() => audio.parseWav(Buffer.from('not a wav file at all')), /not a WAV/);
  });
});

/** A bare SIP endpoint on a UDP socket for the SIPp checks: enough for INVITE/ACK/BYE. */
interface Stub {
  readonly socket: Socket;
  readonly port: number;
  next(predicate: (text: string) => boolean): Promise<{ text: string; from: RemoteInfo }>;
}

async function startStub(address: string): Promise<Stub> {
  const socket = createSocket('udp4');
  const waiting: Array<{
    predicate: (t: string) => boolean;
    resolve: (m: { text: string; from: RemoteInfo }) => void;
  }> = [];
  socket.on('message', (data, from) => {
    const text = data.toString('latin1');
    const i = waiting.findIndex((w) => w.predicate(text));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve({ text, from });
  });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  return {
    socket,
    port: socket.address().port,
    next: (predicate) => new Promise((resolve) => waiting.push({ predicate, resolve })),
  };
}

const header = (text: string, name: string): string =>
  new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim() ?? '';

function sdp(ip: string, port: number, payloadType: number, direction: string): string {
  const name = payloadType === 8 ? 'PCMA' : 'PCMU';
  const lines = ['v=0', `o=stub 1 1 IN IP4 ${ip}`, 's=-', `c=IN IP4 ${ip}`, 't=0 0'];
  return [...lines, `m=audio ${port} RTP/AVP ${payloadType}`, `a=rtpmap:${payloadType} ${name}/8000`, `a=${direction}`]
    .map((l) => `${l}\r\n`)
    .join('');
}

function send(stub: Stub, to: { address: string; port: number }, lines: string[], body = ''): void {
  const text = [
    ...lines,
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${body.length}`,
    '',
    body,
  ];
  stub.socket.send(text.join('\r\n'), to.port, to.address);
}

/** Answers every INVITE (200 + SDP to `rtp`, recvonly to sendonly) and BYE (200); ACKs are ignored. */
function answerAll(stub: Stub, rtp: media.RtpReceiver, payloadType: number): void {
  stub.socket.on('message', (data, from) => {
    const text = data.toString('latin1');
    const method = /^(INVITE|BYE) /.exec(text)?.[1];
    if (method === undefined) return;
    const to = header(text, 'To');
    const direction = /a=sendonly/.test(text) ? 'recvonly' : 'sendrecv';
    const lines = ['SIP/2.0 200 OK', `Via: ${header(text, 'Via')}`, `From: ${header(text, 'From')}`];
    lines.push(`To: ${to}${to.includes('tag=') ? '' : ';tag=stub'}`, `Call-ID: ${header(text, 'Call-ID')}`);
    lines.push(`CSeq: ${header(text, 'CSeq')}`, `Contact: <sip:stub@${rtp.address}:${stub.port}>`);
    send(stub, from, lines, method === 'INVITE' ? sdp(rtp.address, rtp.port, payloadType, direction) : '');
  });
}

/** Runs `uac` against a Node UAS stub on PBX_IP whose SDP points at a Node RTP socket. */
async function uacAgainstStub(options: { scenario?: string; codec?: media.MediaCodec } & media.MediaTiming) {
  const stub = await startStub(PBX_IP);
  const rtp = await media.startRtpReceiver(PBX_IP);
  answerAll(stub, rtp, options.codec === 'pcma' ? 8 : 0);
  try {
    const run = await media.runSippMediaUac({ ...options, host: PBX_IP, port: stub.port, localIp: TRUNK_IP });
    return { run, packets: [...rtp.packets] };
  } finally {
    await rtp.close();
    stub.socket.close();
  }
}

function assertTone(packets: readonly media.ReceivedRtp[], freq: number, payloadType: number, count: number): void {
  assert.ok(Math.abs(packets.length - count) <= count * 0.1 + 3, `${packets.length} packets, expected ~${count}`);
  assert.ok(packets.every((p) => p.payloadType === payloadType && p.payload.length === 160));
  const samples = media.decodeG711Packets(packets);
  const segments = audio.dominantToneSegments(samples, 8000, TONES);
  assert.deepEqual(new Set(segments.map((s) => s.freq)), new Set([freq]), JSON.stringify(segments));
  const gaps = packets.slice(1).map((p, i) => p.atMs - packets[i]!.atMs);
  const median = gaps.sort((a, b) => a - b)[gaps.length >> 1]!;
  assert.ok(Math.abs(median - 20) < 3, `packets ${median} ms apart`);
}

const notRoot = skipOutsideCi(
  process.getuid?.() !== 0 ? 'play_pcap_audio sends through a raw socket: run as root' : undefined,
);

describe('SIPp plays the tone captures (root, loopback)', { concurrency: true, skip: notRoot }, () => {
  for (const codec of ['pcmu', 'pcma'] as const) {
    it(`the media UAC sends 440 Hz ${codec.toUpperCase()} from its SDP address to the answer's`, async () => {
      const { run, packets } = await uacAgainstStub({ codec, audioMs: 2000 });
      assert.equal(run.code, 0, run.errors);
      assertTone(packets, 440, codec === 'pcma' ? 8 : 0, 100);
      assert.ok(packets.every((p) => p.from.address === TRUNK_IP && p.from.port === run.mediaPort));
      assert.equal(new Set(packets.map((p) => p.ssrc)).size, 1);
    });
  }

  it('the hold UAC stops its audio on hold and resumes as a new stream', async () => {
    const { run, packets } = await uacAgainstStub({
      scenario: media.MEDIA_SCENARIOS.uacHold,
      audioMs: 1000,
      holdMs: 1500,
      resumeMs: 1000,
    });
    assert.equal(run.code, 0, run.errors);
    const [first, second] = [packets.filter((p) => p.sequence < 30000), packets.filter((p) => p.sequence >= 30000)];
    assertTone(first, 440, 0, 50);
    assertTone(second, 440, 0, 50);
    assert.notEqual(first[0]!.ssrc, second[0]!.ssrc);
    assert.ok(second[0]!.atMs - first[first.length - 1]!.atMs >= 1400, 'silent on hold');
  });

  for (const codec of ['pcmu', 'pcma'] as const) {
    it(`the media UAS answers ${codec.toUpperCase()} and sends 1000 Hz after the ACK`, async () => {
      const uas = await media.startSippMediaUas({ localIp: PBX_IP, port: await reservePort(PBX_IP), codec });
      const stub = await startStub(TRUNK_IP);
      const rtp = await media.startRtpReceiver(TRUNK_IP);
      try {
        const target = { address: PBX_IP, port: uas.port };
        const dialog = [`From: <sip:stub@${TRUNK_IP}>;tag=stubtag`, 'Call-ID: media-tools-uas@stub'];
        const via = (branch: string): string => `Via: SIP/2.0/UDP ${TRUNK_IP}:${stub.port};branch=z9hG4bK${branch}`;
        const answer = stub.next((t) => /^SIP\/2\.0 200/.test(t) && / INVITE/.test(header(t, 'CSeq')));
        const invite = [`INVITE sip:1@${PBX_IP}:${uas.port} SIP/2.0`, via('inv'), ...dialog, `To: <sip:1@${PBX_IP}>`];
        invite.push('CSeq: 1 INVITE', `Contact: <sip:stub@${TRUNK_IP}:${stub.port}>`, 'Max-Forwards: 70');
        send(stub, target, invite, sdp(TRUNK_IP, rtp.port, 0, 'sendrecv').replace('RTP/AVP 0', 'RTP/AVP 0 8'));
        const ok = await answer;
        const to = `To: ${header(ok.text, 'To')}`;
        assert.match(ok.text, new RegExp(`m=audio ${uas.mediaPort} RTP/AVP ${codec === 'pcma' ? 8 : 0} `));
        send(stub, target, [`ACK sip:1@${PBX_IP}:${uas.port} SIP/2.0`, via('ack'), ...dialog, to, 'CSeq: 1 ACK']);
        await new Promise((r) => setTimeout(r, 1500));
        const byeOk = stub.next((t) => /^SIP\/2\.0 200/.test(t) && / BYE/.test(header(t, 'CSeq')));
        send(stub, target, [`BYE sip:1@${PBX_IP}:${uas.port} SIP/2.0`, via('bye'), ...dialog, to, 'CSeq: 2 BYE']);
        await byeOk;
        assert.equal((await uas.finish(5000)).code, 0);
        assertTone(rtp.packets, 1000, codec === 'pcma' ? 8 : 0, 75);
        assert.ok(rtp.packets.every((p) => p.from.address === PBX_IP && p.from.port === uas.mediaPort));
      } finally {
        uas.kill();
        await rtp.close();
        stub.socket.close();
      }
    });
  }

  for (const [uac, uas] of [
    [media.MEDIA_SCENARIOS.uac, media.MEDIA_SCENARIOS.uas],
    [media.MEDIA_SCENARIOS.uacHold, media.MEDIA_SCENARIOS.uasReinvite],
  ] as const) {
    it(`${uac} against ${uas} back to back`, async () => {
      const far = await media.startSippMediaUas({ scenario: uas, localIp: PBX_IP, port: await reservePort(PBX_IP) });
      try {
        const timing = { audioMs: 1000, holdMs: 500, resumeMs: 1000 };
        const run = await media.runSippMediaUac({ scenario: uac, host: PBX_IP, port: far.port, ...timing });
        assert.equal(run.code, 0, run.errors);
        assert.equal((await far.finish(5000)).code, 0);
      } finally {
        far.kill();
      }
    });
  }

  it('sendRtpFrom sends a third-party tone from a socket of its own', async () => {
    const rtp = await media.startRtpReceiver('127.0.0.1');
    try {
      const sent = await media.sendRtpFrom('127.0.0.1', rtp.port, 25, { intervalMs: 5 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(sent.sent, 25);
      assert.ok(rtp.packets.every((p) => p.from.port === sent.port));
      assert.equal(rtp.packets.length, 25);
      const samples = media.decodeG711Packets(rtp.packets);
      assert.ok(audio.channelHasToneOnly({ samples, sampleRate: 8000 }, media.THIRD_PARTY_TONE_HZ, 440));
    } finally {
      await rtp.close();
    }
  });
});
