import { createSocket, type Socket } from 'node:dgram';
import { lookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { AppError } from '../../errors.js';

/** Options of PortAllocator (from MediaConfig). */
export interface PortAllocatorOptions {
  /** Bind address; an IPv6 address gives udp6 sockets. @default "0.0.0.0" */
  readonly host?: string;
  /** First and last port, inclusive. */
  readonly portRange: readonly [number, number];
}

/** One bound RTP/RTCP socket pair; RTP on the even port, RTCP on the next (RFC 3550 §11). */
export interface PortPair {
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly rtp: Socket;
  readonly rtcp: Socket;
}

/**
 * Hands out bound RTP/RTCP socket pairs from a port range. Pairs are tried round-robin from
 * after the last one handed out, so a released pair is not reused at once (late packets of the
 * previous call must not reach the next one). A pair that another program holds (EADDRINUSE)
 * is skipped and tried again on the next round.
 */
export class PortAllocator {
  readonly #host: string;
  readonly #type: 'udp4' | 'udp6';
  readonly #firstPort: number;
  readonly #capacity: number;
  /** Pair indexes handed out or being bound. */
  readonly #reserved = new Set<number>();
  readonly #handedOut = new Map<number, PortPair>();
  #next = 0;

  constructor(options: PortAllocatorOptions) {
    const [first, last] = options.portRange;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 65535 || first > last) {
      throw new RangeError(`invalid media port range [${first}, ${last}]`);
    }
    this.#host = options.host ?? '0.0.0.0';
    this.#type = isIP(this.#host) === 6 ? 'udp6' : 'udp4';
    this.#firstPort = first % 2 === 0 ? first : first + 1;
    this.#capacity = Math.max(0, Math.floor((last - this.#firstPort + 1) / 2));
    if (this.#capacity === 0) throw new RangeError(`media port range [${first}, ${last}] holds no even/odd pair`);
  }

  /** Number of pairs in the range. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Number of pairs handed out (or being bound) and not yet released. */
  get inUse(): number {
    return this.#reserved.size;
  }

  /** The bind address. */
  get host(): string {
    return this.#host;
  }

  /**
   * Binds the next free pair. Rejects with MEDIA_PORTS_EXHAUSTED when every pair is in use or
   * held by another program, MEDIA_SOCKET when binding fails for another reason.
   */
  async allocate(): Promise<PortPair> {
    for (let tried = 0; tried < this.#capacity; tried += 1) {
      const index = (this.#next + tried) % this.#capacity;
      if (this.#reserved.has(index)) continue;
      this.#reserved.add(index);
      this.#next = (index + 1) % this.#capacity;
      const rtpPort = this.#firstPort + index * 2;
      try {
        const pair = await this.#bindPair(rtpPort);
        this.#handedOut.set(index, pair);
        return pair;
      } catch (error) {
        this.#reserved.delete(index);
        if (!isAddressInUse(error)) {
          throw new AppError('MEDIA_SOCKET', `cannot bind RTP/RTCP ports ${rtpPort}/${rtpPort + 1}`, { cause: error });
        }
      }
    }
    throw new AppError('MEDIA_PORTS_EXHAUSTED', `no free RTP/RTCP port pair (${this.inUse}/${this.#capacity} in use)`, {
      retriable: true,
    });
  }

  /** Closes the pair's sockets and makes the pair free again. Idempotent. */
  release(pair: PortPair): void {
    const index = (pair.rtpPort - this.#firstPort) / 2;
    if (this.#handedOut.get(index) !== pair) return;
    this.#handedOut.delete(index);
    this.#reserved.delete(index);
    closeQuietly(pair.rtp);
    closeQuietly(pair.rtcp);
  }

  async #bindPair(rtpPort: number): Promise<PortPair> {
    const rtp = await this.#bind(rtpPort);
    try {
      const rtcp = await this.#bind(rtpPort + 1);
      return { rtpPort, rtcpPort: rtpPort + 1, rtp, rtcp };
    } catch (error) {
      closeQuietly(rtp);
      throw error;
    }
  }

  #bind(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: this.#type, lookup: createNumericLookup() });
      const onError = (error: Error): void => {
        socket.removeListener('listening', onListening);
        closeQuietly(socket);
        reject(error);
      };
      const onListening = (): void => {
        socket.removeListener('error', onError);
        resolve(socket);
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ port, address: this.#host, exclusive: true });
    });
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * The address lookup of one relay socket. An unconnected dgram socket looks up the destination
 * of every send; Node's default (dns.lookup) answers an IP literal only on the next tick, after
 * validating it — a closure, a tick and a regex per relayed packet. The relay sends only to
 * numeric addresses (latched sources, SDP addresses), so the last one checked is answered at
 * once; anything else (a host name in c=) still goes to dns.lookup.
 */
function createNumericLookup(): (hostname: string, options: LookupOneOptions, callback: LookupCallback) => void {
  let known = '';
  let knownFamily = 0;
  return (hostname, options, callback) => {
    if (hostname !== known) {
      const family = isIP(hostname);
      if (family === 0) {
        lookup(hostname, options, callback);
        return;
      }
      known = hostname;
      knownFamily = family;
    }
    callback(null, known, knownFamily);
  };
}

function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // already closed: releasing twice is allowed
  }
}
