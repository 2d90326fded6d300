/**
 * A test RTP endpoint for the announcement tests: stands in for a phone's media next to a SIPp
 * that does the signalling (its SDP names this endpoint). It records every RTP packet it receives
 * (wall-clock stamped, to compare with SIPp's message trace), sends a PCMU tone back to callrec
 * every 20 ms (to the source of the first packet it received — symmetric RTP — or to a given
 * port), can switch the tone's frequency, and keys DTMF as RFC 4733 events in the same stream
 * (the tone pauses meanwhile, as phones do).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { encodeMuLaw } from '../../bench/tools/tone-pcap.js';
import { parseRtp, type ReceivedRtp } from './media.js';

/** A received packet with its wall-clock arrival (ms since the epoch). */
export interface CapturedRtp extends ReceivedRtp {
  readonly wallMs: number;
}

/** When a key's packets went out (wall clock): its first packet and its (first) end packet. */
export interface SentKey {
  readonly key: string;
  readonly startWallMs: number;
  readonly endWallMs: number;
}

const TELEPHONE_EVENT_PT = 101;
const KEYS = '0123456789*#ABCD';
/** Updates (20 ms apart) before the end packet, which is sent three times (RFC 4733 §2.5.1.3). */
const KEY_UPDATES = 4;

export class RtpEndpoint {
  readonly address: string;
  readonly packets: CapturedRtp[] = [];
  readonly keysSent: SentKey[] = [];
  readonly #socket: Socket;
  readonly #start = performance.now();
  readonly #ssrc = randomInt(1, 0xffffffff);
  #seq = randomInt(0, 0x8000);
  #ts = randomInt(0, 0x7fffffff);
  #phase = 0;
  #toneHz: number | undefined;
  #target: { address: string; port: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextDue = 0;
  readonly #keyQueue: Array<{ key: string; resolve: (sent: SentKey) => void }> = [];
  #keyPacket = 0;
  #keyTs = 0;
  #keyStart = 0;
  #onPacket: ((packet: CapturedRtp) => void) | undefined;

  private constructor(socket: Socket, address: string) {
    this.#socket = socket;
    this.address = address;
    socket.on('message', (data, rinfo) => {
      const rtp = parseRtp(data);
      if (rtp === undefined) return;
      const packet: CapturedRtp = {
        ...rtp,
        payload: Buffer.from(rtp.payload),
        atMs: performance.now() - this.#start,
        wallMs: Date.now(),
        from: { address: rinfo.address, port: rinfo.port },
      };
      this.packets.push(packet);
      this.#target ??= { address: rinfo.address, port: rinfo.port };
      this.#onPacket?.(packet);
    });
  }

  /** Binds a UDP socket on `address` (a free port). */
  static async bind(address: string): Promise<RtpEndpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return new RtpEndpoint(socket, address);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Called for every packet received (after it was recorded). */
  onPacket(listener: (packet: CapturedRtp) => void): void {
    this.#onPacket = listener;
  }

  /** Sends to this port on callrec from now on (instead of the first packet's source). */
  sendTo(address: string, port: number): void {
    this.#target = { address, port };
  }

  /** Starts (or changes) the tone sent every 20 ms; nothing is sent until a target is known. */
  tone(frequencyHz: number): void {
    this.#toneHz = frequencyHz;
    if (this.#timer === undefined) {
      this.#nextDue = performance.now();
      this.#tick();
    }
  }

  /** Keys `key` (RFC 4733, 80 ms + end packets); resolves when its end packets were sent. */
  key(key: string): Promise<SentKey> {
    return new Promise((resolve) => this.#keyQueue.push({ key, resolve }));
  }

  /** Wall-clock time a packet matching `predicate` arrived first, or undefined. */
  firstWallMs(predicate: (packet: CapturedRtp) => boolean): number | undefined {
    return this.packets.find(predicate)?.wallMs;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#toneHz = undefined;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  readonly #tick = (): void => {
    const now = performance.now();
    while (this.#nextDue <= now) {
      this.#sendOne();
      this.#nextDue += 20;
    }
    this.#timer = setTimeout(this.#tick, Math.max(1, this.#nextDue - performance.now()));
  };

  #sendOne(): void {
    const target = this.#target;
    if (target === undefined || this.#toneHz === undefined) return;
    const keyed = this.#keyQueue[0];
    const packet = keyed === undefined ? this.#tonePacket(this.#toneHz) : this.#keyPacketFor(keyed.key);
    this.#socket.send(packet, target.port, target.address);
    if (keyed !== undefined && this.#keyPacket === 0) {
      // the key's last end packet went out
      this.#keyQueue.shift();
      const sent = this.keysSent[this.keysSent.length - 1];
      if (sent !== undefined) keyed.resolve(sent);
    }
  }

  #tonePacket(frequencyHz: number): Buffer {
    const packet = Buffer.alloc(12 + 160);
    this.#header(packet, 0, false);
    for (let i = 0; i < 160; i++) {
      packet[12 + i] = encodeMuLaw(Math.round(8000 * Math.sin(this.#phase)));
      this.#phase += (2 * Math.PI * frequencyHz) / 8000;
    }
    this.#ts = (this.#ts + 160) >>> 0;
    return packet;
  }

  #keyPacketFor(key: string): Buffer {
    const index = this.#keyPacket;
    if (index === 0) {
      this.#keyTs = this.#ts;
      this.#keyStart = Date.now();
    }
    const end = index >= KEY_UPDATES;
    const duration = Math.min(KEY_UPDATES, index + 1) * 160;
    const packet = Buffer.alloc(16);
    this.#header(packet, TELEPHONE_EVENT_PT, index === 0, this.#keyTs);
    packet[12] = KEYS.indexOf(key.toUpperCase());
    packet[13] = (end ? 0x80 : 0) | 10;
    packet.writeUInt16BE(duration, 14);
    if (index === KEY_UPDATES) this.keysSent.push({ key, startWallMs: this.#keyStart, endWallMs: Date.now() });
    this.#keyPacket = index + 1 >= KEY_UPDATES + 3 ? 0 : index + 1;
    if (this.#keyPacket === 0) this.#ts = (this.#keyTs + duration) >>> 0;
    return packet;
  }

  #header(packet: Buffer, payloadType: number, marker: boolean, timestamp = this.#ts): void {
    packet[0] = 0x80;
    packet[1] = (marker ? 0x80 : 0) | payloadType;
    packet.writeUInt16BE(this.#seq, 2);
    this.#seq = (this.#seq + 1) & 0xffff;
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(this.#ssrc, 8);
  }
}
