import type { DropArgument, Server, Socket } from 'node:net';
import { AppError } from '../../errors.js';
import { ipFamily, isWildcardHost, normalizeIp } from './ip-address.js';
import { StreamFramer, type StreamFramerOptions } from './stream-framer.js';
import { endpointKey, type Endpoint, type Transport, type TransportHandlers } from './transport.js';

/** @default 600000 — an idle connection (no bytes either way) is closed after 10 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;
/** @default 10000 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** @default 1024 */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** @default 1048576 — bytes queued per connection while the socket is not writable. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/** Options shared by the TCP and TLS transports. */
export interface StreamTransportOptions {
  /** Listen address: an IP literal; `::` listens on IPv6 only, `0.0.0.0` on IPv4. */
  readonly host: string;
  /** Listen port; 0 lets the OS choose (see `local.port`). */
  readonly port: number;
  readonly handlers: TransportHandlers;
  /**
   * A connection with no traffic either way for this long is closed. Values below 32 s (64*T1,
   * RFC 3261 §17.1.1.2 Timer B) may close connections that transactions still need. @default 600000
   */
  readonly idleTimeoutMs?: number;
  /** Open connections (inbound + outbound); more are refused. @default 1024 */
  readonly maxConnections?: number;
  /** Outbound connect (and TLS handshake) deadline. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Bytes a connection queues while its socket is not writable; `send` rejects beyond. @default 1048576 */
  readonly maxQueuedBytes?: number;
  /** Framing limits per connection. */
  readonly framing?: Pick<StreamFramerOptions, 'maxHeaderBytes' | 'maxBodyBytes'>;
}

/** A connection-oriented transport: the contract plus connection introspection. */
export interface StreamTransport extends Transport {
  readonly protocol: 'tcp' | 'tls';
  /** Whether a connection to (or from) `remote` is open or opening. */
  hasConnection(remote: Endpoint): boolean;
  /** Connections currently open or opening. */
  readonly connectionCount: number;
}

/** What differs between TCP and TLS: how sockets are made. */
export interface StreamSocketFactory {
  readonly protocol: 'tcp' | 'tls';
  /** A server calling `onSocket` for each ready (for TLS: handshaken) inbound socket. */
  createServer(onSocket: (socket: Socket) => void, onError: (error: Error, remote?: Endpoint) => void): Server;
  /** Starts an outbound connection; the socket emits `readyEvent` when usable. */
  connect(destination: Endpoint, localAddress: string | undefined): Socket;
  readonly readyEvent: 'connect' | 'secureConnect';
}

interface QueuedWrite {
  readonly data: Buffer;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

function transportError(message: string, cause?: unknown): AppError {
  return new AppError('SIP_TRANSPORT_ERROR', message, cause === undefined ? {} : { cause });
}

/** One TCP/TLS connection: framing in, queued writes out, idle close. */
class StreamConnection {
  readonly remote: Endpoint;
  readonly key: string;
  readonly #socket: Socket;
  readonly #owner: StreamTransportImpl;
  readonly #framer: StreamFramer;
  readonly #queue: QueuedWrite[] = [];
  #queuedBytes = 0;
  #ready: boolean;
  /** `socket.write` returned false: wait for 'drain'. */
  #blocked = false;
  #closed = false;

  constructor(owner: StreamTransportImpl, socket: Socket, remote: Endpoint, ready: boolean) {
    this.#owner = owner;
    this.#socket = socket;
    this.remote = remote;
    this.key = endpointKey(remote);
    this.#ready = ready;
    this.#framer = new StreamFramer({
      ...owner.options.framing,
      // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
      onPing: () => {
        // Skipped while the peer is not reading: pongs must not grow an unbounded buffer.
        if (!this.#closed && !this.#blocked) this.#socket.write('\r\n');
      },
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#blocked = false;
      this.#flush();
    });
    socket.on('timeout', () => {
      if (this.#ready) this.close();
      else this.close(transportError(`connect to ${this.key} timed out`));
    });
    socket.on('error', (error: Error) => this.close(transportError(`${this.key}: ${error.message}`, error)));
    socket.on('close', () => {
      const partial = this.#framer.bufferedBytes;
      this.close(
        partial > 0 ? transportError(`${this.key} closed in the middle of a message (${partial} bytes)`) : undefined,
      );
    });
    if (ready) socket.setTimeout(owner.idleTimeoutMs);
  }

  /** The outbound socket became usable. */
  markReady(): void {
    if (this.#closed) return;
    this.#ready = true;
    this.#socket.setTimeout(this.#owner.idleTimeoutMs);
    this.#flush();
  }

  send(data: Buffer): Promise<void> {
    if (this.#closed) return Promise.reject(new AppError('SIP_TRANSPORT_CLOSED', `connection ${this.key} is closed`));
    return new Promise<void>((resolve, reject) => {
      if (this.#ready && !this.#blocked && this.#queue.length === 0) {
        this.#write({ data, resolve, reject });
        return;
      }
      // Back-pressure: hold the message until 'drain' (or connect), within a bound.
      if (this.#queuedBytes + data.length > this.#owner.maxQueuedBytes) {
        reject(
          new AppError('SIP_TRANSPORT_ERROR', `send queue to ${this.key} full (${this.#queuedBytes} bytes waiting)`, {
            retriable: true,
          }),
        );
        return;
      }
      this.#queue.push({ data, resolve, reject });
      this.#queuedBytes += data.length;
    });
  }

  /** Closes the connection; with an error, reports it. Idempotent. */
  close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroy();
    // Sends fail with a transport code whatever closed the connection (a framing error included).
    const failure =
      error === undefined
        ? new AppError('SIP_TRANSPORT_CLOSED', `connection ${this.key} closed`)
        : error instanceof AppError && error.code === 'SIP_TRANSPORT_ERROR'
          ? error
          : transportError(`connection ${this.key} closed: ${error.message}`, error);
    for (const queued of this.#queue.splice(0)) queued.reject(failure);
    this.#queuedBytes = 0;
    this.#owner.forget(this);
    if (error !== undefined) this.#owner.reportError(error, this.remote);
  }

  #write(item: QueuedWrite): void {
    const accepted = this.#socket.write(item.data, (error?: Error | null) => {
      if (error === undefined || error === null) item.resolve();
      else item.reject(transportError(`write to ${this.key} failed: ${error.message}`, error));
    });
    if (!accepted) this.#blocked = true;
  }

  #flush(): void {
    while (this.#ready && !this.#blocked && !this.#closed) {
      const next = this.#queue.shift();
      if (next === undefined) return;
      this.#queuedBytes -= next.data.length;
      this.#write(next);
    }
  }

  #onData(chunk: Buffer): void {
    const result = this.#framer.push(chunk);
    for (const data of result.messages) this.#owner.deliver(data, this.remote);
    if (!result.ok) this.close(result.error);
  }
}

class StreamTransportImpl implements StreamTransport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  readonly local: Endpoint;
  readonly options: StreamTransportOptions;
  readonly idleTimeoutMs: number;
  readonly maxQueuedBytes: number;
  readonly #factory: StreamSocketFactory;
  readonly #server: Server;
  readonly #maxConnections: number;
  readonly #connectTimeoutMs: number;
  /** The connection used for sends to a remote endpoint (RFC 3261 §18.2.2 reuse). */
  readonly #byRemote = new Map<string, StreamConnection>();
  readonly #all = new Set<StreamConnection>();
  #closed = false;

  /** Every raw inbound socket, including TLS handshakes in progress, so close() ends them all. */
  readonly #rawSockets: ReadonlySet<Socket>;

  constructor(
    factory: StreamSocketFactory,
    options: StreamTransportOptions,
    server: Server,
    port: number,
    rawSockets: ReadonlySet<Socket>,
  ) {
    this.#factory = factory;
    this.#rawSockets = rawSockets;
    this.protocol = factory.protocol;
    this.options = options;
    this.#server = server;
    this.local = { protocol: factory.protocol, address: options.host, port };
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.#maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  hasConnection(remote: Endpoint): boolean {
    return this.#byRemote.has(this.#key(remote));
  }

  /** An inbound socket (already handshaken for TLS). */
  accept(socket: Socket): void {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (this.#closed || address === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    const remote: Endpoint = { protocol: this.protocol, address, port };
    if (this.#all.size >= this.#maxConnections) {
      socket.destroy();
      this.reportError(
        transportError(`connection from ${endpointKey(remote)} refused: ${this.#maxConnections} open`),
        remote,
      );
      return;
    }
    const connection = new StreamConnection(this, socket, remote, true);
    this.#all.add(connection);
    // A response (or a new request) to this peer's address:port goes back over this connection.
    this.#byRemote.set(this.#key(remote), connection);
  }

  send(data: Buffer, destination: Endpoint): Promise<void> {
    if (this.#closed)
      return Promise.reject(new AppError('SIP_TRANSPORT_CLOSED', `${this.protocol} transport is closed`));
    const existing = this.#byRemote.get(this.#key(destination));
    if (existing !== undefined) return existing.send(data);
    const family = ipFamily(destination.address);
    if (family === 0 || !Number.isInteger(destination.port) || destination.port <= 0 || destination.port > 65535) {
      return Promise.reject(
        transportError(`invalid destination ${endpointKey(destination)}: an IP literal and port are required`),
      );
    }
    if (this.#all.size >= this.#maxConnections) {
      return Promise.reject(
        new AppError(
          'SIP_TRANSPORT_ERROR',
          `cannot open a connection to ${endpointKey(destination)}: ${this.#maxConnections} open`,
          {
            retriable: true,
          },
        ),
      );
    }
    return this.#open(destination, family).send(data);
  }

  /** RFC 3261 §18.1.1 / §18.2.2: a new connection when none to the destination exists. */
  #open(destination: Endpoint, family: 4 | 6): StreamConnection {
    const host = this.options.host;
    const localAddress = !isWildcardHost(host) && ipFamily(host) === family ? host : undefined;
    const socket = this.#factory.connect(destination, localAddress);
    socket.setTimeout(this.#connectTimeoutMs);
    const remote: Endpoint = { protocol: this.protocol, address: destination.address, port: destination.port };
    const connection = new StreamConnection(this, socket, remote, false);
    socket.once(this.#factory.readyEvent, () => connection.markReady());
    this.#all.add(connection);
    this.#byRemote.set(this.#key(remote), connection);
    return connection;
  }

  deliver(data: Buffer, source: Endpoint): void {
    try {
      this.options.handlers.onData({ data, source, transport: this });
    } catch (error) {
      // Listener exceptions are isolated (DESIGN.md conventions).
      this.reportError(error instanceof Error ? error : new Error(String(error)), source);
    }
  }

  reportError(error: Error, source?: Endpoint): void {
    try {
      this.options.handlers.onError?.(error, source);
    } catch {
      // an error handler that throws has nowhere left to report to
    }
  }

  forget(connection: StreamConnection): void {
    this.#all.delete(connection);
    const key = this.#key(connection.remote);
    if (this.#byRemote.get(key) === connection) this.#byRemote.delete(key);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const connection of [...this.#all]) connection.close();
    for (const socket of [...this.#rawSockets]) socket.destroy();
    await closed;
  }

  #key(remote: Endpoint): string {
    return `${normalizeIp(remote.address)}|${remote.port}`;
  }
}

/**
 * Starts a stream transport (TCP or TLS by `factory`): listens on host:port, frames each
 * connection by Content-Length, reuses connections by remote endpoint, closes idle ones. Rejects
 * with AppError SIP_TRANSPORT_ERROR when it cannot listen.
 */
export async function createStreamTransport(
  factory: StreamSocketFactory,
  options: StreamTransportOptions,
): Promise<StreamTransport> {
  const family = ipFamily(options.host);
  if (family === 0)
    throw transportError(`${factory.protocol} listen host must be an IP literal, got "${options.host}"`);
  // Sockets accepted before the transport object exists (between listen and return) wait here.
  const early: Socket[] = [];
  const target: { transport?: StreamTransportImpl } = {};
  const server = factory.createServer(
    (socket) => {
      if (target.transport === undefined) early.push(socket);
      else target.transport.accept(socket);
    },
    (error, remote) => target.transport?.reportError(error, remote),
  );
  const rawSockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    rawSockets.add(socket);
    socket.once('close', () => rawSockets.delete(socket));
  });
  // A hard cap on raw sockets too (TLS handshakes in progress are not yet counted as connections).
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        transportError(`cannot listen on ${factory.protocol} ${options.host}:${options.port}: ${error.message}`, error),
      );
    };
    server.once('error', onError);
    // '::' listens on IPv6 only; an IPv4 listener is configured separately (no mapped addresses).
    server.listen({ host: options.host, port: options.port, ipv6Only: family === 6 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const ready = new StreamTransportImpl(factory, options, server, port, rawSockets);
  target.transport = ready;
  server.on('drop', (dropped?: DropArgument) => {
    const remote: Endpoint | undefined =
      dropped?.remoteAddress === undefined || dropped.remotePort === undefined
        ? undefined
        : { protocol: factory.protocol, address: dropped.remoteAddress, port: dropped.remotePort };
    ready.reportError(
      transportError(
        `connection${remote === undefined ? '' : ` from ${endpointKey(remote)}`} refused: ${server.maxConnections} open`,
      ),
      remote,
    );
  });
  server.on('error', (error: Error) =>
    ready.reportError(transportError(`${factory.protocol} server: ${error.message}`, error)),
  );
  for (const socket of early) ready.accept(socket);
  return ready;
}
