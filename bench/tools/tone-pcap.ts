/**
 * Test-tone RTP streams as classic libpcap files (Ethernet/IPv4/UDP/RTP), the input of SIPp's
 * `play_pcap_audio`: one sine tone, G.711 (PCMU or PCMA) at 8 kHz, 20 ms packets 20 ms apart.
 * SIPp replaces addresses and ports when it plays the file; payload, sequence numbers, timestamps
 * and SSRC go out as written here. Deterministic: the same options give the same bytes.
 */

/** RTP payload types of the static G.711 profiles (RFC 3551 §6). */
export type G711PayloadType = 0 | 8;

const MULAW_BIAS = 0x84;
const MULAW_SEGMENT_ENDS = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

/** ITU-T G.711 µ-law: one 16-bit linear sample to one byte (14-bit magnitude, as G.191 does). */
export function encodeMuLaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 2;
  let mask = 0xff;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  }
  pcm = Math.min(pcm, 8159) + (MULAW_BIAS >> 2);
  const segment = MULAW_SEGMENT_ENDS.findIndex((end) => pcm <= end);
  if (segment < 0) return 0x7f ^ mask;
  return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0f)) ^ mask;
}

/** ITU-T G.711 µ-law: one byte to a 16-bit linear sample. */
export function decodeMuLaw(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return (u & 0x80) !== 0 ? MULAW_BIAS - t : t - MULAW_BIAS;
}

const ALAW_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** ITU-T G.711 A-law: one 16-bit linear sample to one byte (even bits inverted, 0x55). */
export function encodeALaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3;
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const segment = ALAW_SEGMENT_ENDS.findIndex((end) => pcm <= end);
  if (segment < 0) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (pcm >> 1) & 0x0f : (pcm >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

/** ITU-T G.711 A-law: one byte to a 16-bit linear sample. */
export function decodeALaw(byte: number): number {
  const a = (byte ^ 0x55) & 0xff;
  const segment = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return (a & 0x80) !== 0 ? t : -t;
}

/** Encoder of a G.711 payload type. */
export function g711Encoder(payloadType: G711PayloadType): (sample: number) => number {
  return payloadType === 0 ? encodeMuLaw : encodeALaw;
}

/** Decoder of a G.711 payload type. */
export function g711Decoder(payloadType: G711PayloadType): (byte: number) => number {
  return payloadType === 0 ? decodeMuLaw : decodeALaw;
}

/** `count` samples of a sine whose peak is `levelDbfs` below full scale (32767), phase 0 at sample 0. */
export function sineSamples(frequencyHz: number, levelDbfs: number, count: number, sampleRate = 8000): Int16Array {
  const amplitude = 32767 * 10 ** (levelDbfs / 20);
  const samples = new Int16Array(count);
  for (let n = 0; n < count; n++)
    samples[n] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / sampleRate));
  return samples;
}

/** An RTP packet (RFC 3550 §5.1): version 2, no padding, extension or CSRC. */
export function rtpPacket(
  payloadType: number,
  sequence: number,
  timestamp: number,
  ssrc: number,
  payload: Uint8Array,
  marker = false,
): Buffer {
  const packet = Buffer.alloc(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  packet.writeUInt16BE(sequence & 0xffff, 2);
  packet.writeUInt32BE(timestamp >>> 0, 4);
  packet.writeUInt32BE(ssrc >>> 0, 8);
  packet.set(payload, 12);
  return packet;
}

/** Where the packets of a capture claim to come from and go to (SIPp rewrites both). */
export interface UdpEndpoints {
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

const DEFAULT_ENDPOINTS: UdpEndpoints = {
  sourceIp: '192.0.2.1',
  sourcePort: 6000,
  destinationIp: '192.0.2.2',
  destinationPort: 6000,
};

/** The RFC 1071 one's-complement checksum of a header (as in an IPv4 header). */
export function internetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return parts;
}

/** An Ethernet II frame carrying IPv4/UDP with `payload`; UDP checksum 0 (none, RFC 768). */
export function udpFrame(payload: Uint8Array, endpoints: UdpEndpoints, ipId: number): Buffer {
  const frame = Buffer.alloc(14 + 20 + 8 + payload.length);
  // Ethernet: destination and source MAC (locally administered), EtherType IPv4.
  frame.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0);
  frame.writeUInt16BE(0x0800, 12);
  const ip = frame.subarray(14, 34);
  ip[0] = 0x45; // version 4, IHL 5 words
  ip[1] = 0xb8; // DSCP EF, as phones mark voice
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  ip.set(ipv4Bytes(endpoints.sourceIp), 12);
  ip.set(ipv4Bytes(endpoints.destinationIp), 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  const udp = frame.subarray(34, 42);
  udp.writeUInt16BE(endpoints.sourcePort, 0);
  udp.writeUInt16BE(endpoints.destinationPort, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  frame.set(payload, 42);
  return frame;
}

/** One captured frame and when it was captured (µs since the epoch). */
export interface PcapRecord {
  readonly timeUs: number;
  readonly frame: Uint8Array;
}

/** A classic libpcap file (magic 0xa1b2c3d4 in little-endian, v2.4, µs timestamps, Ethernet). */
export function pcapFile(records: readonly PcapRecord[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [header];
  for (const record of records) {
    const head = Buffer.alloc(16);
    head.writeUInt32LE(Math.floor(record.timeUs / 1e6), 0);
    head.writeUInt32LE(record.timeUs % 1e6, 4);
    head.writeUInt32LE(record.frame.length, 8);
    head.writeUInt32LE(record.frame.length, 12);
    parts.push(head, Buffer.from(record.frame));
  }
  return Buffer.concat(parts);
}

export interface TonePcapOptions {
  readonly frequencyHz: number;
  readonly durationMs: number;
  readonly payloadType: G711PayloadType;
  /** Peak level of the sine. @default -12 */
  readonly levelDbfs?: number;
  /** @default 20 */
  readonly packetMs?: number;
  /** @default 0x1000 + frequencyHz */
  readonly ssrc?: number;
  /** Sequence number of the first packet. @default 1 */
  readonly firstSequence?: number;
  /** RTP timestamp of the first packet. @default 0 */
  readonly firstTimestamp?: number;
  /** Capture time of the first packet, µs since the epoch. @default 2024-01-01T00:00:00Z */
  readonly startTimeUs?: number;
  /** Addresses and ports in the frames (SIPp replaces them). @default 192.0.2.1:6000 -> 192.0.2.2:6000 */
  readonly endpoints?: UdpEndpoints;
}

/** Number of RTP packets in a tone capture: the duration in whole packets. */
export function tonePacketCount(durationMs: number, packetMs = 20): number {
  return Math.floor(durationMs / packetMs);
}

/** The RTP packets of a continuous sine tone, one per `packetMs` (marker bit on the first). */
export function toneRtpPackets(options: Omit<TonePcapOptions, 'startTimeUs' | 'endpoints'>): Buffer[] {
  const packetMs = options.packetMs ?? 20;
  const samplesPerPacket = (8000 * packetMs) / 1000;
  const count = tonePacketCount(options.durationMs, packetMs);
  const samples = sineSamples(options.frequencyHz, options.levelDbfs ?? -12, count * samplesPerPacket);
  const encode = g711Encoder(options.payloadType);
  const ssrc = options.ssrc ?? 0x1000 + options.frequencyHz;
  const firstSequence = options.firstSequence ?? 1;
  const firstTimestamp = options.firstTimestamp ?? 0;
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const payload = new Uint8Array(samplesPerPacket);
    for (let n = 0; n < samplesPerPacket; n++) payload[n] = encode(samples[i * samplesPerPacket + n] ?? 0);
    const timestamp = firstTimestamp + i * samplesPerPacket;
    packets.push(rtpPacket(options.payloadType, firstSequence + i, timestamp, ssrc, payload, i === 0));
  }
  return packets;
}

/** A pcap of one RTP stream carrying a continuous sine tone, packets `packetMs` apart. */
export function tonePcap(options: TonePcapOptions): Buffer {
  const packetMs = options.packetMs ?? 20;
  const startTimeUs = options.startTimeUs ?? Date.UTC(2024, 0, 1) * 1000;
  const endpoints = options.endpoints ?? DEFAULT_ENDPOINTS;
  return pcapFile(
    toneRtpPackets(options).map((rtp, i) => ({
      timeUs: startTimeUs + i * packetMs * 1000,
      frame: udpFrame(rtp, endpoints, i),
    })),
  );
}

/** One capture of the set the media SIPp scenarios play (sipp-scenarios/pcap/). */
export interface ScenarioPcap {
  readonly name: string;
  /** Undefined for `empty.pcap`. */
  readonly tone: Required<Omit<TonePcapOptions, 'packetMs' | 'startTimeUs' | 'endpoints'>> | undefined;
}

/**
 * The captures of sipp-scenarios/pcap/: a 440 Hz caller tone and a 1000 Hz callee tone, −12 dBFS,
 * 20 s, in PCMU and PCMA (`tone-<f>hz-<codec>-20s.pcap`); the same tones as a second stream for
 * after a re-INVITE (`…-resumed.pcap`: other SSRC, sequence and timestamp base); and `empty.pcap`
 * (no packets), which stops a running `play_pcap_audio` when played over it.
 */
export function scenarioPcaps(): ScenarioPcap[] {
  const list: ScenarioPcap[] = [];
  for (const [frequencyHz, side] of [
    [440, 0x0a],
    [1000, 0x0b],
  ] as const) {
    for (const [codec, payloadType] of [
      ['pcmu', 0],
      ['pcma', 8],
    ] as const) {
      const base = `tone-${frequencyHz}hz-${codec}-20s`;
      const ssrc = (0xca110000 | (side << 8) | payloadType) >>> 0;
      const tone = { frequencyHz, payloadType, durationMs: 20_000, levelDbfs: -12 };
      list.push({ name: `${base}.pcap`, tone: { ...tone, ssrc, firstSequence: 1, firstTimestamp: 0 } });
      list.push({
        name: `${base}-resumed.pcap`,
        tone: { ...tone, ssrc: (ssrc | 0x80) >>> 0, firstSequence: 30_000, firstTimestamp: 0x40000000 },
      });
    }
  }
  list.push({ name: 'empty.pcap', tone: undefined });
  return list;
}

/** The bytes of one of `scenarioPcaps()`. */
export function scenarioPcapBytes(pcap: ScenarioPcap): Buffer {
  return pcap.tone === undefined ? pcapFile([]) : tonePcap(pcap.tone);
}
