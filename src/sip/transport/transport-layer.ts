import { AppError } from '../../errors.js';
import { ipFamily, normalizeIp } from './ip-address.js';
import type { StreamTransport, StreamTransportOptions } from './stream-transport.js';
import { createTcpTransport } from './tcp-transport.js';
import { createTlsTransport, type TlsSettings } from './tls-transport.js';
import {
  endpointKey,
  type Endpoint,
  type InboundData,
  type Transport,
  type TransportHandlers,
  type TransportProtocol,
} from './transport.js';
import { createUdpTransport, type UdpTransportOptions } from './udp-transport.js';

/** One listening socket of the layer. */
export interface ListenerConfig {
  readonly protocol: TransportProtocol;
  /** An IP literal; `0.0.0.0` / `::` for all addresses of one family. */
  readonly host: string;
  /** 0 lets the OS choose. */
  readonly port: number;
  /** Required for `tls`. */
  readonly tls?: TlsSettings;
}

/** Traffic seen from one source address. */
export interface SourceStats {
  readonly messages: number;
  readonly bytes: number;
  /** Framing/socket errors attributed to the source. */
  readonly errors: number;
  /** `now()` of the last message or error, ms. */
  readonly lastSeen: number;
}

/** Builds one listener; the default binds real sockets, tests may return LoopTransports. */
export type ListenerFactory = (config: ListenerConfig, handlers: TransportHandlers) => Promise<Transport>;

export interface TransportLayerOptions {
  readonly listeners: readonly ListenerConfig[];
  /** Every message received on any listener. Exceptions are caught and reported to onError. */
  readonly onData: (inbound: InboundData) => void;
  readonly onError?: (error: Error, source?: Endpoint) => void;
  /** Source addresses tracked by `stats()`; the least recently seen is evicted. @default 1024 */
  readonly maxTrackedSources?: number;
  /** Connection settings of TCP/TLS listeners. */
  readonly stream?: Omit<StreamTransportOptions, 'host' | 'port' | 'handlers'>;
  /** Settings of UDP listeners. */
  readonly udp?: Omit<UdpTransportOptions, 'host' | 'port' | 'handlers'>;
  /** @default real UDP/TCP/TLS sockets */
  readonly createListener?: ListenerFactory;
  /** Wall clock for `lastSeen`. @default Date.now */
  readonly now?: () => number;
}

interface MutableStats {
  messages: number;
  bytes: number;
  errors: number;
  lastSeen: number;
}

function isStreamTransport(transport: Transport): transport is StreamTransport {
  return typeof (transport as Partial<StreamTransport>).hasConnection === 'function';
}

/**
 * The transport layer (RFC 3261 §18): owns the listeners, picks one for each send by protocol
 * and address family (streams reuse or open a connection, §18.1.1 / §18.2.2), counts traffic
 * per source, and hands every inbound message to one `onData`. It does not parse messages.
 */
export class TransportLayer {
  readonly #options: TransportLayerOptions;
  readonly #listeners: Transport[] = [];
  readonly #stats = new Map<string, MutableStats>();
  readonly #maxTracked: number;
  readonly #now: () => number;
  #closed = false;

  /** Binds every configured listener; on failure closes those already bound and rejects. */
  static async create(options: TransportLayerOptions): Promise<TransportLayer> {
    const layer = new TransportLayer(options);
    try {
      for (const config of options.listeners) await layer.#listen(config);
    } catch (error) {
      await layer.close();
      throw error;
    }
    return layer;
  }

  private constructor(options: TransportLayerOptions) {
    this.#options = options;
    this.#maxTracked = options.maxTrackedSources ?? 1024;
    this.#now = options.now ?? Date.now;
  }

  /** The listening transports, in configuration order. */
  get listeners(): readonly Transport[] {
    return this.#listeners;
  }

  /**
   * Sends one message on the first listener with the destination's protocol and address family;
   * for streams a listener already connected to the destination is preferred.
   */
  send(data: Buffer, destination: Endpoint): Promise<void> {
    if (this.#closed) return Promise.reject(new AppError('SIP_TRANSPORT_CLOSED', 'transport layer is closed'));
    const family = ipFamily(destination.address);
    const candidates = this.#listeners.filter(
      (t) => t.protocol === destination.protocol && ipFamily(t.local.address) === family,
    );
    const connected = candidates.find((t) => isStreamTransport(t) && t.hasConnection(destination));
    const chosen = connected ?? candidates[0];
    if (chosen === undefined) {
      return Promise.reject(
        new AppError('SIP_TRANSPORT_ERROR', `no ${destination.protocol} listener for ${endpointKey(destination)}`),
      );
    }
    return chosen.send(data, destination);
  }

  /** A snapshot of the per-source counters, keyed by source IP, least recently seen first. */
  stats(): Map<string, SourceStats> {
    const out = new Map<string, SourceStats>();
    for (const [address, entry] of this.#stats) out.set(address, { ...entry });
    return out;
  }

  /** Closes every listener and its connections; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#listeners.map((t) => t.close()));
  }

  async #listen(config: ListenerConfig): Promise<void> {
    const handlers: TransportHandlers = {
      onData: (inbound) => this.#onData(inbound),
      onError: (error, source) => this.#onError(error, source),
    };
    const factory = this.#options.createListener ?? ((c, h) => this.#createListener(c, h));
    this.#listeners.push(await factory(config, handlers));
  }

  #createListener(config: ListenerConfig, handlers: TransportHandlers): Promise<Transport> {
    const base = { host: config.host, port: config.port, handlers };
    switch (config.protocol) {
      case 'udp':
        return createUdpTransport({ ...this.#options.udp, ...base });
      case 'tcp':
        return createTcpTransport({ ...this.#options.stream, ...base });
      case 'tls':
        if (config.tls === undefined) {
          return Promise.reject(
            new AppError('SIP_TRANSPORT_ERROR', `tls listener ${config.host}:${config.port} has no certificate`),
          );
        }
        return createTlsTransport({ ...this.#options.stream, ...base, tls: config.tls });
    }
  }

  #onData(inbound: InboundData): void {
    const entry = this.#touch(inbound.source.address);
    entry.messages++;
    entry.bytes += inbound.data.length;
    try {
      this.#options.onData(inbound);
    } catch (error) {
      // Listener exceptions are isolated (DESIGN.md conventions).
      this.#report(error instanceof Error ? error : new Error(String(error)), inbound.source);
    }
  }

  #onError(error: Error, source?: Endpoint): void {
    if (source !== undefined) this.#touch(source.address).errors++;
    this.#report(error, source);
  }

  #report(error: Error, source?: Endpoint): void {
    try {
      this.#options.onError?.(error, source);
    } catch {
      // an error handler that throws has nowhere left to report to
    }
  }

  /** The counters of a source, moved to the most-recent end; evicts the least recent beyond the bound. */
  #touch(address: string): MutableStats {
    const key = normalizeIp(address);
    let entry = this.#stats.get(key);
    if (entry === undefined) entry = { messages: 0, bytes: 0, errors: 0, lastSeen: 0 };
    else this.#stats.delete(key);
    entry.lastSeen = this.#now();
    this.#stats.set(key, entry);
    while (this.#stats.size > this.#maxTracked) {
      const oldest = this.#stats.keys().next();
      if (oldest.done === true) break;
      this.#stats.delete(oldest.value);
    }
    return entry;
  }
}

/** Same as {@link TransportLayer.create}. */
export function createTransportLayer(options: TransportLayerOptions): Promise<TransportLayer> {
  return TransportLayer.create(options);
}
