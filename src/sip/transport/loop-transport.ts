import { AppError } from '../../errors.js';
import { normalizeIp } from './ip-address.js';
import {
  endpointKey,
  isReliable,
  type Endpoint,
  type Transport,
  type TransportHandlers,
  type TransportProtocol,
} from './transport.js';

/**
 * The timer source the loop network schedules deliveries on. Structurally the transaction
 * layer's `Clock` (src/sip/transaction/clock.ts), so the same fake clock drives both; declared
 * here because sip/transport may not import sip/transaction (DESIGN.md layer table).
 */
export interface LoopClock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): { readonly id: number };
  clearTimer(handle: { readonly id: number }): void;
}

/** A fixed delay, or a uniformly random one in [minMs, maxMs], in milliseconds. */
export type LoopDelay = number | { readonly minMs: number; readonly maxMs: number };

/** Network conditions; loss applies to unreliable transports only. */
export interface LoopConditions {
  /** Probability in [0, 1] that an unreliable message is lost. @default 0 */
  readonly lossProbability?: number;
  /** Delivery delay. @default 0 */
  readonly delay?: LoopDelay;
}

export interface LoopNetworkOptions extends LoopConditions {
  readonly clock: LoopClock;
  /** Seed of the PRNG deciding loss and random delay; the same seed and sends give the same fate. @default 1 */
  readonly seed?: number;
}

/** One message in flight, as seen by a fault-injection filter. */
export interface LoopPacket {
  readonly data: Buffer;
  readonly source: Endpoint;
  readonly destination: Endpoint;
}

export interface LoopTransportOptions {
  /** The host's address (an IP literal by convention, IPv6 without brackets). */
  readonly address: string;
  /** 0 or absent picks a free port from 49152 up. */
  readonly port?: number;
  /** @default 'udp' */
  readonly protocol?: TransportProtocol;
  /** Whether delivery is lossless and in order per peer (TCP-like). @default isReliable(protocol) */
  readonly reliable?: boolean;
  readonly handlers: TransportHandlers;
}

/** What happened on the network so far. */
export interface LoopCounters {
  sent: number;
  delivered: number;
  /** Dropped by the loss probability or a filter. */
  lost: number;
  /** Sent to an endpoint where nobody listens (or which closed before delivery). */
  unreachable: number;
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hostKey(endpoint: Endpoint): string {
  return endpointKey({ ...endpoint, address: normalizeIp(endpoint.address) });
}

/**
 * An in-memory network of {@link LoopTransport}s (several hosts by address:port) for protocol and
 * integration tests: deterministic loss and delay from a seeded PRNG, timed by an injected clock.
 */
export class LoopNetwork {
  readonly counters: LoopCounters = { sent: 0, delivered: 0, lost: 0, unreachable: 0 };
  readonly #clock: LoopClock;
  readonly #random: () => number;
  readonly #hosts = new Map<string, LoopTransport>();
  readonly #pending = new Map<number, { readonly id: number }>();
  /** Reliable links: when the last message on each (source, destination) pair is delivered. */
  readonly #lastDelivery = new Map<string, number>();
  #lossProbability: number;
  #delay: LoopDelay;
  #filter: ((packet: LoopPacket) => boolean) | undefined;
  #nextPort = 49152;

  constructor(options: LoopNetworkOptions) {
    this.#clock = options.clock;
    this.#random = createSeededRandom(options.seed ?? 1);
    this.#lossProbability = options.lossProbability ?? 0;
    this.#delay = options.delay ?? 0;
  }

  /** Changes loss and delay for messages sent from now on. */
  setConditions(conditions: LoopConditions): void {
    if (conditions.lossProbability !== undefined) this.#lossProbability = conditions.lossProbability;
    if (conditions.delay !== undefined) this.#delay = conditions.delay;
  }

  /** Fault injection: a packet for which `keep` returns false is lost (reliable ones too). */
  setFilter(keep: ((packet: LoopPacket) => boolean) | undefined): void {
    this.#filter = keep;
  }

  /** Messages scheduled but not yet delivered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Adds a host listening at address:port. Throws AppError SIP_TRANSPORT_ERROR if taken. */
  createTransport(options: LoopTransportOptions): LoopTransport {
    const protocol = options.protocol ?? 'udp';
    let port = options.port ?? 0;
    if (port === 0) {
      while (this.#hosts.has(hostKey({ protocol, address: options.address, port: this.#nextPort }))) this.#nextPort++;
      port = this.#nextPort++;
    }
    const local: Endpoint = { protocol, address: options.address, port };
    const key = hostKey(local);
    if (this.#hosts.has(key)) throw new AppError('SIP_TRANSPORT_ERROR', `${endpointKey(local)} is already in use`);
    const transport = new LoopTransport(this, local, options.reliable ?? isReliable(protocol), options.handlers);
    this.#hosts.set(key, transport);
    return transport;
  }

  /** Cancels every delivery in flight and closes every host. */
  async close(): Promise<void> {
    for (const handle of this.#pending.values()) this.#clock.clearTimer(handle);
    this.#pending.clear();
    await Promise.all([...this.#hosts.values()].map((t) => t.close()));
  }

  /** @internal called by LoopTransport.close */
  detach(transport: LoopTransport): void {
    const key = hostKey(transport.local);
    if (this.#hosts.get(key) === transport) this.#hosts.delete(key);
  }

  /** @internal called by LoopTransport.send */
  transmit(from: LoopTransport, data: Buffer, destination: Endpoint): Promise<void> {
    this.counters.sent++;
    const target = this.#hosts.get(hostKey(destination));
    if (target === undefined) {
      this.counters.unreachable++;
      // A stream would fail to connect; a datagram vanishes (ICMP is not reported, §18.4).
      return from.reliable
        ? Promise.reject(new AppError('SIP_TRANSPORT_ERROR', `connection to ${endpointKey(destination)} refused`))
        : Promise.resolve();
    }
    const packet: LoopPacket = { data: Buffer.from(data), source: from.local, destination };
    if (this.#filter !== undefined && !this.#filter(packet)) {
      this.counters.lost++;
      return Promise.resolve();
    }
    if (!from.reliable && this.#lossProbability > 0 && this.#random() < this.#lossProbability) {
      this.counters.lost++;
      return Promise.resolve();
    }
    let delay = this.#drawDelay();
    if (from.reliable) {
      // Streams deliver in order: never before the previous message on the same link.
      const link = `${hostKey(from.local)}>${hostKey(destination)}`;
      const now = this.#clock.now();
      const at = Math.max(now + delay, this.#lastDelivery.get(link) ?? 0);
      this.#lastDelivery.set(link, at);
      delay = at - now;
    }
    const handle = this.#clock.setTimer(() => {
      this.#pending.delete(handle.id);
      if (this.#hosts.get(hostKey(destination)) !== target) {
        this.counters.unreachable++;
        return;
      }
      this.counters.delivered++;
      target.receive(packet.data, packet.source);
    }, delay);
    this.#pending.set(handle.id, handle);
    return Promise.resolve();
  }

  #drawDelay(): number {
    const delay = this.#delay;
    if (typeof delay === 'number') return delay;
    return delay.minMs + Math.floor(this.#random() * (delay.maxMs - delay.minMs + 1));
  }
}

/** One host on a {@link LoopNetwork}; implements the transport contract. */
export class LoopTransport implements Transport {
  readonly protocol: TransportProtocol;
  readonly reliable: boolean;
  readonly local: Endpoint;
  readonly #network: LoopNetwork;
  readonly #handlers: TransportHandlers;
  #closed = false;

  /** Use {@link LoopNetwork.createTransport}. */
  constructor(network: LoopNetwork, local: Endpoint, reliable: boolean, handlers: TransportHandlers) {
    this.#network = network;
    this.local = local;
    this.protocol = local.protocol;
    this.reliable = reliable;
    this.#handlers = handlers;
  }

  send(data: Buffer, destination: Endpoint): Promise<void> {
    if (this.#closed)
      return Promise.reject(new AppError('SIP_TRANSPORT_CLOSED', `${endpointKey(this.local)} is closed`));
    return this.#network.transmit(this, data, destination);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#network.detach(this);
    }
    return Promise.resolve();
  }

  /** @internal called by the network at delivery time */
  receive(data: Buffer, source: Endpoint): void {
    if (this.#closed) return;
    try {
      this.#handlers.onData({ data, source, transport: this });
    } catch (error) {
      try {
        this.#handlers.onError?.(error instanceof Error ? error : new Error(String(error)), source);
      } catch {
        // an error handler that throws has nowhere left to report to
      }
    }
  }
}
