import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { AppError } from '../../errors.js';
import { ipFamily } from './ip-address.js';
import { endpointKey, type Endpoint, type Transport, type TransportHandlers } from './transport.js';

/** @default 65507 — the largest UDP payload over IPv4. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 65_507;
/** @default 4194304 — requested SO_RCVBUF (the kernel may cap it, e.g. net.core.rmem_max). */
export const DEFAULT_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpTransportOptions {
  /** Bind address: an IP literal; the family picks udp4/udp6; `::` binds IPv6 only. */
  readonly host: string;
  /** Bind port; 0 lets the OS choose (see `local.port`). */
  readonly port: number;
  readonly handlers: TransportHandlers;
  /** Larger datagrams are dropped on receipt (reported) and refused on send. @default 65507 */
  readonly maxDatagramBytes?: number;
  /** Requested socket receive buffer: SIP bursts (re-INVITE storms) must not be dropped. @default 4194304 */
  readonly receiveBufferBytes?: number;
}

/** STUN magic cookie (RFC 5389 §6); STUN keep-alives (RFC 5626 §4.4.2) share the SIP port. */
const STUN_MAGIC_COOKIE = 0x2112a442;

/**
 * Whether a datagram is a keep-alive rather than a message: empty, only CR/LF/whitespace/NUL
 * (the CRLF keep-alives of RFC 5626 §3.5.1 / §4.4.1 seen on UDP), or a STUN message.
 */
function isKeepAlive(data: Buffer): boolean {
  if (data.length >= 20 && ((data[0] as number) & 0xc0) === 0 && data.readUInt32BE(4) === STUN_MAGIC_COOKIE) {
    // NOTE(deviation): STUN binding requests are not answered (RFC 5626 §4.4.2 keep-alive server role).
    return true;
  }
  for (const c of data) if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09 && c !== 0x00) return false;
  return true;
}

class UdpTransport implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly local: Endpoint;
  readonly #socket: Socket;
  readonly #family: 4 | 6;
  readonly #handlers: TransportHandlers;
  readonly #maxDatagramBytes: number;
  #closed = false;

  constructor(socket: Socket, local: Endpoint, family: 4 | 6, options: UdpTransportOptions) {
    this.#socket = socket;
    this.local = local;
    this.#family = family;
    this.#handlers = options.handlers;
    this.#maxDatagramBytes = options.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
    socket.on('message', (data: Buffer, rinfo: RemoteInfo) => this.#onMessage(data, rinfo));
    socket.on('error', (error: Error) =>
      this.#report(
        new AppError('SIP_TRANSPORT_ERROR', `udp ${endpointKey(local)}: ${error.message}`, { cause: error }),
      ),
    );
  }

  send(data: Buffer, destination: Endpoint): Promise<void> {
    if (this.#closed) return Promise.reject(new AppError('SIP_TRANSPORT_CLOSED', 'udp transport is closed'));
    if (ipFamily(destination.address) !== this.#family || !validPort(destination.port)) {
      return Promise.reject(
        new AppError(
          'SIP_TRANSPORT_ERROR',
          `udp${this.#family} cannot send to ${endpointKey(destination)}: an IPv${this.#family} literal and port are required`,
        ),
      );
    }
    if (data.length > this.#maxDatagramBytes) {
      // RFC 3261 §18.1.1: a message too large for UDP is the sender's to move to a stream transport.
      return Promise.reject(
        new AppError('SIP_TRANSPORT_ERROR', `datagram of ${data.length} bytes exceeds ${this.#maxDatagramBytes}`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      // §18.4 best effort: this reports only local failures; ICMP errors are not surfaced.
      this.#socket.send(data, destination.port, destination.address, (error: Error | null) => {
        if (error === null) resolve();
        else {
          reject(
            new AppError('SIP_TRANSPORT_ERROR', `udp send to ${endpointKey(destination)} failed: ${error.message}`, {
              cause: error,
              retriable: true,
            }),
          );
        }
      });
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed by the runtime
      }
    });
  }

  #onMessage(data: Buffer, rinfo: RemoteInfo): void {
    if (this.#closed || isKeepAlive(data)) return;
    const source: Endpoint = { protocol: 'udp', address: rinfo.address, port: rinfo.port };
    if (data.length > this.#maxDatagramBytes) {
      this.#report(
        new AppError('SIP_PARSE_LIMIT', `datagram of ${data.length} bytes exceeds ${this.#maxDatagramBytes}`),
        source,
      );
      return;
    }
    try {
      this.#handlers.onData({ data, source, transport: this });
    } catch (error) {
      // Listener exceptions are isolated (DESIGN.md conventions).
      this.#report(error instanceof Error ? error : new Error(String(error)), source);
    }
  }

  #report(error: Error, source?: Endpoint): void {
    try {
      this.#handlers.onError?.(error, source);
    } catch {
      // an error handler that throws has nowhere left to report to
    }
  }
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

/**
 * Binds a SIP-over-UDP transport (RFC 3261 §18): one datagram is one message. Rejects with
 * AppError SIP_TRANSPORT_ERROR when the address cannot be bound.
 */
export async function createUdpTransport(options: UdpTransportOptions): Promise<Transport> {
  const family = ipFamily(options.host);
  if (family === 0) {
    throw new AppError('SIP_TRANSPORT_ERROR', `udp bind host must be an IP literal, got "${options.host}"`);
  }
  const socket = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    // '::' binds IPv6 only; IPv4 gets its own listener (no v4-mapped sources).
    ipv6Only: family === 6,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.close();
      reject(
        new AppError('SIP_TRANSPORT_ERROR', `cannot bind udp ${options.host}:${options.port}: ${error.message}`, {
          cause: error,
        }),
      );
    };
    socket.once('error', onError);
    socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES);
  } catch {
    // NOTE(deviation): the OS refused the size; the default buffer stays (best effort).
  }
  const local: Endpoint = { protocol: 'udp', address: options.host, port: socket.address().port };
  return new UdpTransport(socket, local, family, options);
}
