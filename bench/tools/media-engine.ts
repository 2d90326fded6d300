/**
 * The RTP side of the `media.bench.ts` load generator: one UDP socket per call leg (the caller's on
 * 127.0.0.1, the callee's on 127.0.0.3, so strict-source checks see the SDP address), PCMU 20 ms
 * packets (a tone) paced by one 1 ms timer with the legs spread evenly over the 20 ms period.
 * Bytes 0-15 of each payload carry the send time (`performance.now()`, float64), the stream id and
 * the packet number; the receiving socket, in the same process, counts packets and records the
 * one-way time. It runs in `rtp-load-worker.ts` child processes, driven by `MediaWorkers` over IPC.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Histogram, type HistogramData } from './histogram.js';

/** Where a leg sends its RTP. */
export interface MediaAddress {
  readonly address: string;
  readonly port: number;
}

/** The local RTP ports of one call's two legs. */
export interface CallPorts {
  /** The caller's socket (127.0.0.1). */
  readonly a: number;
  /** The callee's socket (127.0.0.3). */
  readonly b: number;
}

/** Counters of a MediaEngine (or the sum over several). */
export interface MediaStats {
  readonly callsStarted: number;
  /** Caller -> callee: packets sent by the caller legs, received by the callee legs. */
  readonly sentAB: number;
  readonly receivedAB: number;
  readonly sentBA: number;
  readonly receivedBA: number;
  /** Calls where some packet of either direction did not arrive. */
  readonly callsWithLoss: number;
  /** Packets whose stream id belonged to another leg (cross-talk) or too short to carry one. */
  readonly misrouted: number;
  /** Packets that arrived with a packet number not above the last one (reordered or duplicated). */
  readonly reordered: number;
  readonly sendErrors: number;
  /** One-way time, send to receive, ms. */
  readonly latency: HistogramData;
  /** How late the pacer sent each packet after its slot, ms. */
  readonly lateness: HistogramData;
}

/** RTP header (12 bytes) + 160 bytes of PCMU = 20 ms at 8 kHz. */
const RTP_HEADER = 12;
const PCMU_FRAME = 160;
const PACKET_BYTES = RTP_HEADER + PCMU_FRAME;
const PACKET_MS = 20;
/** Pacer resolution: the 20 ms period is cut into 20 slots of 1 ms. */
const SLOT_MS = 1;
const SLOTS = PACKET_MS / SLOT_MS;
/** Payload stamp: send time (float64 ms), stream id (u32), packet number (u32). */
const STAMP_TIME = RTP_HEADER;
const STAMP_STREAM = RTP_HEADER + 8;
const STAMP_PACKET = RTP_HEADER + 12;
const STAMP_END = RTP_HEADER + 16;

/** ITU-T G.711 µ-law, one 16-bit sample (G.191 style, 14-bit magnitude). */
function linearToMuLaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 2;
  let mask = 0xff;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  }
  pcm = Math.min(pcm, 8159) + 0x21;
  let segment = 0;
  for (let end = 0x3f; pcm > end && segment < 8; end = (end << 1) | 1) segment += 1;
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0f)) ^ mask;
}

/** One 20 ms PCMU frame of a sine tone whose period divides 160 samples (so frames repeat). */
function toneFrame(hz: number): Buffer {
  const frame = Buffer.alloc(PCMU_FRAME);
  for (let i = 0; i < PCMU_FRAME; i++) frame[i] = linearToMuLaw(8000 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return frame;
}

/** 400 Hz from the caller, 500 Hz from the callee. */
const TONE = { a: toneFrame(400), b: toneFrame(500) } as const;

class MediaLeg {
  readonly socket: Socket;
  readonly name: 'a' | 'b';
  /** Stream id written into this leg's packets and the one expected from the other leg. */
  readonly streamOut: number;
  readonly streamIn: number;
  port = 0;
  remotePort = 0;
  remoteAddress = '';
  active = false;
  readonly #ssrc = randomBytes(4).readUInt32BE(0);
  #seq = randomInt(0, 0x8000);
  #timestamp = randomInt(0, 0x7fffffff);
  #packet = 0;
  sent = 0;
  received = 0;
  #lastPacketIn = -1;
  readonly #engine: MediaEngine;

  constructor(engine: MediaEngine, name: 'a' | 'b', call: number) {
    this.#engine = engine;
    this.name = name;
    this.streamOut = call * 2 + (name === 'a' ? 0 : 1);
    this.streamIn = call * 2 + (name === 'a' ? 1 : 0);
    this.socket = createSocket('udp4');
    this.socket.on('message', this.#onMessage);
    this.socket.on('error', () => {
      engine.sendErrors += 1;
    });
  }

  bind(host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, host, () => {
        this.socket.removeListener('error', reject);
        this.port = this.socket.address().port;
        resolve();
      });
    });
  }

  /** Sends the next packet; `now` is its send time. */
  send(now: number): void {
    const packet = Buffer.allocUnsafe(PACKET_BYTES);
    packet[0] = 0x80;
    packet[1] = this.#packet === 0 ? 0x80 : 0x00; // marker on the first packet, PT 0 (PCMU)
    packet.writeUInt16BE(this.#seq, 2);
    packet.writeUInt32BE(this.#timestamp, 4);
    packet.writeUInt32BE(this.#ssrc, 8);
    TONE[this.name].copy(packet, RTP_HEADER);
    packet.writeDoubleLE(now, STAMP_TIME);
    packet.writeUInt32LE(this.streamOut, STAMP_STREAM);
    packet.writeUInt32LE(this.#packet, STAMP_PACKET);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#timestamp = (this.#timestamp + PCMU_FRAME) >>> 0;
    this.#packet += 1;
    this.sent += 1;
    this.socket.send(packet);
  }

  /** Connects the socket to where it sends (no address lookup per send; the kernel filters others). */
  connect(address: string, port: number): Promise<void> {
    this.remoteAddress = address;
    this.remotePort = port;
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.connect(port, address, () => {
        this.socket.removeListener('error', reject);
        resolve();
      });
    });
  }

  readonly #onMessage = (datagram: Buffer): void => {
    const now = performance.now();
    const engine = this.#engine;
    engine.lastReceivedAt = now;
    if (datagram.length < STAMP_END || datagram.readUInt32LE(STAMP_STREAM) !== this.streamIn) {
      engine.misrouted += 1;
      return;
    }
    this.received += 1;
    engine.latency.add(now - datagram.readDoubleLE(STAMP_TIME));
    const packet = datagram.readUInt32LE(STAMP_PACKET);
    if (packet <= this.#lastPacketIn) engine.reordered += 1;
    else this.#lastPacketIn = packet;
  };

  close(): void {
    this.active = false;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

interface MediaCall {
  readonly a: MediaLeg;
  readonly b: MediaLeg;
  started: boolean;
}

/**
 * RTP for a set of calls: sockets, pacing, counting. Legs are assigned round-robin to 20 slots of
 * 1 ms; a 1 ms timer sends every active leg of each slot that has come due (catching up on slots
 * a late timer skipped) and records how late it was.
 */
export class MediaEngine {
  readonly #calls: MediaCall[] = [];
  readonly #slots: MediaLeg[][] = Array.from({ length: SLOTS }, () => []);
  #legCount = 0;
  latency = new Histogram();
  readonly lateness = new Histogram();
  misrouted = 0;
  reordered = 0;
  sendErrors = 0;
  /** performance.now() of the last packet received. */
  lastReceivedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #epoch = 0;
  #nextSlot = 0;
  readonly #hosts: { readonly a: string; readonly b: string };

  constructor(hosts: { readonly a: string; readonly b: string } = { a: '127.0.0.1', b: '127.0.0.3' }) {
    this.#hosts = hosts;
  }

  /** Binds `count` more calls' sockets; returns their indexes and ports. */
  async open(count: number): Promise<Array<{ index: number; ports: CallPorts }>> {
    const opened: Array<{ index: number; ports: CallPorts }> = [];
    for (let n = 0; n < count; n++) {
      const index = this.#calls.length;
      const call: MediaCall = { a: new MediaLeg(this, 'a', index), b: new MediaLeg(this, 'b', index), started: false };
      await Promise.all([call.a.bind(this.#hosts.a), call.b.bind(this.#hosts.b)]);
      for (const leg of [call.a, call.b]) {
        (this.#slots[this.#legCount % SLOTS] as MediaLeg[]).push(leg);
        this.#legCount += 1;
      }
      this.#calls.push(call);
      opened.push({ index, ports: { a: call.a.port, b: call.b.port } });
    }
    return opened;
  }

  /** Starts both legs of call `index`: the caller sends to `a`, the callee to `b`. */
  async start(index: number, a: MediaAddress, b: MediaAddress): Promise<void> {
    const call = this.#calls[index];
    if (call === undefined) throw new Error(`no call ${index}`);
    await Promise.all([call.a.connect(a.address, a.port), call.b.connect(b.address, b.port)]);
    call.a.active = true;
    call.b.active = true;
    call.started = true;
    this.#ensureTimer();
  }

  /** Stops sending on call `index` (its sockets still receive what is in flight). */
  stopCall(index: number): void {
    const call = this.#calls[index];
    if (call === undefined) return;
    call.a.active = false;
    call.b.active = false;
  }

  /** Ends call `index` for good: closes its sockets and takes its legs out of the pacer (soak). */
  end(index: number): void {
    const call = this.#calls[index];
    if (call === undefined) return;
    for (const leg of [call.a, call.b]) {
      leg.close();
      for (const slot of this.#slots) {
        const at = slot.indexOf(leg);
        if (at >= 0) slot.splice(at, 1);
      }
    }
  }

  /** Starts every call with its legs sending straight to each other (the baseline, no callrec). */
  async startDirect(): Promise<void> {
    for (let i = 0; i < this.#calls.length; i++) {
      const call = this.#calls[i] as MediaCall;
      await this.start(i, { address: this.#hosts.b, port: call.b.port }, { address: this.#hosts.a, port: call.a.port });
    }
  }

  /** Stops sending on every leg (receiving goes on until `close`). */
  stop(): void {
    for (const call of this.#calls) {
      call.a.active = false;
      call.b.active = false;
    }
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once no packet arrived for `quietMs` (the relay's queues are empty), at most `maxMs`. */
  async drain(quietMs = 250, maxMs = 10_000): Promise<void> {
    const started = performance.now();
    while (performance.now() - Math.max(this.lastReceivedAt, started) < quietMs) {
      if (performance.now() - started > maxMs) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  stats(): MediaStats {
    let sentAB = 0;
    let receivedAB = 0;
    let sentBA = 0;
    let receivedBA = 0;
    let callsWithLoss = 0;
    let callsStarted = 0;
    for (const call of this.#calls) {
      if (call.started) callsStarted += 1;
      sentAB += call.a.sent;
      receivedAB += call.b.received;
      sentBA += call.b.sent;
      receivedBA += call.a.received;
      if (call.b.received < call.a.sent || call.a.received < call.b.sent) callsWithLoss += 1;
    }
    return {
      callsStarted,
      sentAB,
      receivedAB,
      sentBA,
      receivedBA,
      callsWithLoss,
      misrouted: this.misrouted,
      reordered: this.reordered,
      sendErrors: this.sendErrors,
      latency: this.latency.toData(),
      lateness: this.lateness.toData(),
    };
  }

  /** The latency of the packets received so far; a new histogram starts (the steady-state window). */
  resetLatency(): HistogramData {
    const before = this.latency.toData();
    this.latency = new Histogram();
    return before;
  }

  close(): void {
    this.stop();
    for (const call of this.#calls) {
      call.a.close();
      call.b.close();
    }
  }

  #ensureTimer(): void {
    if (this.#timer !== undefined) return;
    this.#epoch = performance.now();
    this.#nextSlot = 0;
    this.#timer = setInterval(this.#tick, SLOT_MS);
  }

  readonly #tick = (): void => {
    const due = Math.floor((performance.now() - this.#epoch) / SLOT_MS);
    for (; this.#nextSlot <= due; this.#nextSlot++) {
      const slotTime = this.#epoch + this.#nextSlot * SLOT_MS;
      const legs = this.#slots[this.#nextSlot % SLOTS] as MediaLeg[];
      for (const leg of legs) {
        if (!leg.active) continue;
        const now = performance.now();
        this.lateness.add(now - slotTime);
        leg.send(now);
      }
    }
  };
}

/** Sums the counters of several engines. */
export function mergeMediaStats(all: readonly MediaStats[]): {
  stats: Omit<MediaStats, 'latency' | 'lateness'>;
  latency: Histogram;
  lateness: Histogram;
} {
  const latency = new Histogram();
  const lateness = new Histogram();
  const sum = {
    callsStarted: 0,
    sentAB: 0,
    receivedAB: 0,
    sentBA: 0,
    receivedBA: 0,
    callsWithLoss: 0,
    misrouted: 0,
    reordered: 0,
    sendErrors: 0,
  };
  for (const s of all) {
    for (const key of Object.keys(sum) as Array<keyof typeof sum>) sum[key] += s[key];
    latency.merge(s.latency);
    lateness.merge(s.lateness);
  }
  return { stats: sum, latency, lateness };
}
