/**
 * The transport contract (RFC 3261 §18): a transport sends bytes to a destination and delivers
 * whole messages it received. Stream transports (TCP, TLS) frame by Content-Length before
 * delivering; datagram transports deliver one datagram.
 */

export type TransportProtocol = 'udp' | 'tcp' | 'tls';

/** An IP endpoint on a given transport. `address` is an IP literal (IPv6 without brackets). */
export interface Endpoint {
  readonly protocol: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

/** One message's bytes as received, with where it came from. */
export interface InboundData {
  readonly data: Buffer;
  readonly source: Endpoint;
  /** The transport it arrived on (responses on streams go back over the same connection). */
  readonly transport: Transport;
}

export interface TransportHandlers {
  /** One complete message (datagram or framed stream message). Must not throw. */
  readonly onData: (inbound: InboundData) => void;
  /** Something unparseable at the framing level or a socket error; counted, never fatal. */
  readonly onError?: (error: Error, source?: Endpoint) => void;
}

export interface Transport {
  readonly protocol: TransportProtocol;
  /** Reliable transports disable retransmission timers (RFC 3261 §17.1.1.2, §17.1.2.2). */
  readonly reliable: boolean;
  /** Where this transport listens. */
  readonly local: Endpoint;
  /**
   * Sends one serialised message. Rejects with AppError SIP_TRANSPORT_ERROR when the bytes cannot
   * be handed to the network (ICMP errors for UDP are not reported, per §18.4 best effort).
   */
  send(data: Buffer, destination: Endpoint): Promise<void>;
  /** Stops listening and closes connections; idempotent. */
  close(): Promise<void>;
}

/** Whether a protocol is reliable (stream) or not (datagram). */
export function isReliable(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** `udp:1.2.3.4:5060` / `tcp:[::1]:5060` — for logs and map keys. */
export function endpointKey(endpoint: Endpoint): string {
  const address = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
  return `${endpoint.protocol}:${address}:${endpoint.port}`;
}
