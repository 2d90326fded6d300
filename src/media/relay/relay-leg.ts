import type { RemoteInfo, Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { AppError } from '../../errors.js';
import type { PortPair } from './port-allocator.js';

/** "a" = the caller side, "b" = the callee side. */
export type LegName = 'a' | 'b';

/** RFC 3264 §6.1 direction as the leg's peer wrote it in its SDP. */
export type RemoteDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Where a leg's peer receives media, from its SDP (sdp `SdpAudio` fits structurally). */
export interface RemoteMedia {
  readonly address: string;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  /** a=rtcp address (RFC 3605) when it differs from `address`. @default address */
  readonly rtcpAddress?: string;
  readonly direction: RemoteDirection;
}

/** Counters of one leg; "in" is from the leg's peer, "out" is to it. */
export interface RelayLegStats {
  readonly leg: LegName;
  readonly localRtpPort: number;
  readonly localRtcpPort: number;
  readonly remote: RemoteMedia | undefined;
  /** Latched RTP source "address:port" (symmetric RTP), once a packet was accepted. */
  readonly rtpSource: string | undefined;
  readonly rtcpSource: string | undefined;
  /** Accepted RTP and RTCP packets. */
  readonly packetsIn: number;
  readonly rtcpPacketsIn: number;
  readonly bytesIn: number;
  /** RTP and RTCP packets sent to the peer. */
  readonly packetsOut: number;
  readonly bytesOut: number;
  /** Packets from a source other than the negotiated or latched peer (RTP bleed, injection). */
  readonly foreignDropped: number;
  /** Packets for this peer that had nowhere to go (no address yet, port 0, a=inactive). */
  readonly undeliverable: number;
  /**
   * Failed sends among those checked: the first to each new destination and then one in
   * SEND_CHECK_INTERVAL (a failing route or firewall shows; a single lost send may not), plus
   * socket errors.
   */
  readonly sendErrors: number;
  /** Exceptions thrown by the recorder fork for packets of this leg. */
  readonly forkErrors: number;
  /** Arrival time of the last accepted RTP packet (clock of the session), 0 before the first. */
  readonly lastPacketMs: number;
}

/** What a leg needs from its session; fixed at construction, so packets allocate nothing. */
export interface RelayLegOptions {
  /** true: only the SDP address is accepted (its port latched); false: latch onto any first source. */
  readonly strictSource: boolean;
  readonly now: () => number;
  readonly onRtp: ((leg: LegName, datagram: Buffer, arrivalMs: number) => void) | undefined;
  /** Called after every setRemote (the session restarts its media-timeout window). */
  readonly onRemoteChanged: () => void;
}

const RTP = 0;
const RTCP = 1;
/** One send in this many (per kind) is made with a completion callback, see #send. */
const SEND_CHECK_INTERVAL = 64;
/** Index into the per-kind tuples: RTP or RTCP. */
type Kind = typeof RTP | typeof RTCP;

/**
 * One side of a relayed call: callrec's RTP/RTCP sockets toward one peer. Packets from the peer
 * are checked (strict source / latching), forked to the recorder and sent on by the other leg;
 * packets for the peer go to the latched source (symmetric RTP, RFC 4961) or, before the first
 * packet, to the address and ports of its SDP. A peer whose SDP says sendonly/recvonly still
 * gets packets (pragmatic: direction attributes are often wrong, and dropping costs audio); only
 * a=inactive, no SDP yet, or port 0 without a latched source stop sending (counted undeliverable).
 * Created by RelaySession.
 */
export class RelayLeg {
  readonly name: LegName;
  readonly localRtpPort: number;
  readonly localRtcpPort: number;
  readonly #sockets: readonly [Socket, Socket];
  readonly #options: RelayLegOptions;
  readonly #mapV4: boolean;
  #peer: RelayLeg | undefined;
  #closed = false;
  #remote: RemoteMedia | undefined;
  /** Per kind (RTP, RTCP): the SDP address in both plain and IPv4-mapped form, and the port. */
  readonly #sdpAddress: [string, string] = ['', ''];
  readonly #sdpMapped: [string, string] = ['', ''];
  readonly #sdpPort: [number, number] = [0, 0];
  /** Per kind: the latched source; port 0 while not latched. */
  readonly #latchAddress: [string, string] = ['', ''];
  readonly #latchPort: [number, number] = [0, 0];
  /** Per kind: sends left before the next one whose outcome is checked (0: check the next). */
  readonly #uncheckedSends: [number, number] = [0, 0];
  #packetsIn = 0;
  #rtcpPacketsIn = 0;
  #bytesIn = 0;
  #packetsOut = 0;
  #bytesOut = 0;
  #foreignDropped = 0;
  #undeliverable = 0;
  #sendErrors = 0;
  #forkErrors = 0;
  #lastPacketMs = 0;

  constructor(name: LegName, ports: PortPair, options: RelayLegOptions) {
    this.name = name;
    this.localRtpPort = ports.rtpPort;
    this.localRtcpPort = ports.rtcpPort;
    this.#sockets = [ports.rtp, ports.rtcp];
    this.#options = options;
    this.#mapV4 = ports.rtp.address().family === 'IPv6';
    ports.rtp.on('message', this.#onRtp);
    ports.rtcp.on('message', this.#onRtcp);
    ports.rtp.on('error', this.#onSocketError);
    ports.rtcp.on('error', this.#onSocketError);
  }

  /** The other leg of the session; set once by RelaySession. */
  link(peer: RelayLeg): void {
    if (this.#peer !== undefined) throw new Error(`relay leg ${this.name} is already linked`);
    this.#peer = peer;
  }

  /** The peer's media from its SDP, or undefined before the first offer/answer. */
  get remote(): RemoteMedia | undefined {
    return this.#remote;
  }

  /** Last accepted RTP arrival (session clock), 0 before the first. */
  get lastPacketMs(): number {
    return this.#lastPacketMs;
  }

  /** True while the peer's SDP says it does not take part in a two-way exchange (hold). */
  get onHold(): boolean {
    return this.#remote !== undefined && this.#remote.direction !== 'sendrecv';
  }

  /**
   * Sets the peer's media from its SDP (offer, answer, re-INVITE, UPDATE). A changed address or
   * port drops the latched sources. An unspecified address (c=0.0.0.0, legacy hold) keeps the
   * known address and ports and changes only the direction.
   */
  setRemote(remote: RemoteMedia): void {
    if (this.#closed) throw new AppError('MEDIA_SOCKET', `relay leg ${this.name} is closed`);
    const previous = this.#remote;
    const next =
      isUnspecified(remote.address) && previous !== undefined ? { ...previous, direction: remote.direction } : remote;
    this.#remote = next;
    const rtcpAddress = next.rtcpAddress !== undefined && next.rtcpAddress !== '' ? next.rtcpAddress : next.address;
    this.#setSdp(RTP, next.address, next.rtpPort);
    this.#setSdp(RTCP, rtcpAddress, next.rtcpPort);
    this.#options.onRemoteChanged();
  }

  /** Sends one RTP datagram to the peer (as relayed packets are); false when it had nowhere to go. */
  sendRtp(datagram: Buffer): boolean {
    return this.#send(RTP, datagram);
  }

  /** Sends one RTCP datagram to the peer; false when it had nowhere to go. */
  sendRtcp(datagram: Buffer): boolean {
    return this.#send(RTCP, datagram);
  }

  /** A snapshot of the counters. */
  stats(): RelayLegStats {
    return {
      leg: this.name,
      localRtpPort: this.localRtpPort,
      localRtcpPort: this.localRtcpPort,
      remote: this.#remote,
      rtpSource: this.#source(RTP),
      rtcpSource: this.#source(RTCP),
      packetsIn: this.#packetsIn,
      rtcpPacketsIn: this.#rtcpPacketsIn,
      bytesIn: this.#bytesIn,
      packetsOut: this.#packetsOut,
      bytesOut: this.#bytesOut,
      foreignDropped: this.#foreignDropped,
      undeliverable: this.#undeliverable,
      sendErrors: this.#sendErrors,
      forkErrors: this.#forkErrors,
      lastPacketMs: this.#lastPacketMs,
    };
  }

  /** Stops receiving; the session releases the sockets. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sockets[RTP].removeListener('message', this.#onRtp);
    this.#sockets[RTCP].removeListener('message', this.#onRtcp);
  }

  #setSdp(kind: Kind, address: string, port: number): void {
    const usable = address !== '' && !isUnspecified(address);
    const plain = usable ? address : '';
    const mapped = usable && this.#mapV4 && isIP(address) === 4 ? `::ffff:${address}` : plain;
    if (plain !== this.#sdpAddress[kind] || port !== this.#sdpPort[kind]) {
      this.#latchAddress[kind] = '';
      this.#latchPort[kind] = 0;
      this.#uncheckedSends[kind] = 0;
    }
    this.#sdpAddress[kind] = plain;
    this.#sdpMapped[kind] = mapped;
    this.#sdpPort[kind] = port;
  }

  readonly #onRtp = (datagram: Buffer, from: RemoteInfo): void => {
    if (this.#closed || !this.#accepts(RTP, from.address, from.port)) return;
    const arrivalMs = this.#options.now();
    this.#lastPacketMs = arrivalMs;
    this.#packetsIn += 1;
    this.#bytesIn += datagram.length;
    const fork = this.#options.onRtp;
    if (fork !== undefined) {
      try {
        fork(this.name, datagram, arrivalMs);
      } catch {
        // The recorder's failure must never stop the call's audio; it is counted in stats().
        this.#forkErrors += 1;
      }
    }
    this.#peer?.sendRtp(datagram);
  };

  readonly #onRtcp = (datagram: Buffer, from: RemoteInfo): void => {
    if (this.#closed || !this.#accepts(RTCP, from.address, from.port)) return;
    this.#packetsIn += 1;
    this.#rtcpPacketsIn += 1;
    this.#bytesIn += datagram.length;
    this.#peer?.sendRtcp(datagram);
  };

  /** Strict: the SDP address, port latched by the first packet; otherwise the first source at all. */
  #accepts(kind: Kind, address: string, port: number): boolean {
    if (this.#latchPort[kind] !== 0) {
      if (port === this.#latchPort[kind] && address === this.#latchAddress[kind]) return true;
      this.#foreignDropped += 1;
      return false;
    }
    if (this.#options.strictSource) {
      const sdp = this.#sdpAddress[kind];
      const peerAddress = this.#sdpAddress[RTP];
      const ok =
        (sdp !== '' && (address === sdp || address === this.#sdpMapped[kind])) ||
        (peerAddress !== '' && (address === peerAddress || address === this.#sdpMapped[RTP]));
      if (!ok) {
        this.#foreignDropped += 1;
        return false;
      }
    } else if (kind === RTCP && this.#latchPort[RTP] !== 0 && address !== this.#latchAddress[RTP]) {
      this.#foreignDropped += 1;
      return false;
    }
    this.#latchAddress[kind] = address;
    this.#latchPort[kind] = port;
    this.#uncheckedSends[kind] = 0;
    return true;
  }

  #send(kind: Kind, datagram: Buffer): boolean {
    if (this.#closed || this.#remote === undefined || this.#remote.direction === 'inactive') {
      this.#undeliverable += 1;
      return false;
    }
    let port = this.#latchPort[kind];
    let address = this.#latchAddress[kind];
    if (port === 0) {
      port = this.#sdpPort[kind];
      address = this.#sdpMapped[kind];
      if (port === 0 || address === '') {
        this.#undeliverable += 1;
        return false;
      }
    }
    this.#packetsOut += 1;
    this.#bytesOut += datagram.length;
    // The hot path. The sockets stay unconnected: a connected UDP socket would be cheaper still, but
    // the kernel then drops other sources' datagrams unseen, and foreign packets must be counted
    // (SPEC §2); a second, connected socket would send from another port (no symmetric RTP). So:
    // a numeric address answered at once by the allocator's lookup, and no completion callback
    // (it costs a tick per packet) except on the first send to a destination and one in
    // SEND_CHECK_INTERVAL, so a failing route still shows in sendErrors. bench:relay measures it.
    if (this.#uncheckedSends[kind] === 0) {
      this.#uncheckedSends[kind] = SEND_CHECK_INTERVAL - 1;
      this.#sockets[kind].send(datagram, port, address, this.#onSent);
    } else {
      this.#uncheckedSends[kind] -= 1;
      this.#sockets[kind].send(datagram, port, address);
    }
    return true;
  }

  readonly #onSent = (error: Error | null): void => {
    if (error !== null) this.#sendErrors += 1;
  };

  readonly #onSocketError = (): void => {
    this.#sendErrors += 1;
  };

  #source(kind: Kind): string | undefined {
    const port = this.#latchPort[kind];
    return port === 0 ? undefined : `${this.#latchAddress[kind]}:${port}`;
  }
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || (isIP(address) === 6 && /^[0:]+$/.test(address));
}
