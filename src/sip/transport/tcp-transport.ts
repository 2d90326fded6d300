import { connect, createServer } from 'node:net';
import { createStreamTransport, type StreamTransport, type StreamTransportOptions } from './stream-transport.js';

/** Options of {@link createTcpTransport}. */
export type TcpTransportOptions = StreamTransportOptions;

/**
 * A SIP-over-TCP transport (RFC 3261 §18): listens on host:port, frames by Content-Length
 * (§18.3), reuses a connection per remote endpoint (§18.2.2), closes idle connections.
 */
export function createTcpTransport(options: TcpTransportOptions): Promise<StreamTransport> {
  return createStreamTransport(
    {
      protocol: 'tcp',
      readyEvent: 'connect',
      createServer: (onSocket) => createServer(onSocket),
      connect: (destination, localAddress) =>
        connect({
          host: destination.address,
          port: destination.port,
          ...(localAddress === undefined ? {} : { localAddress }),
        }),
    },
    options,
  );
}
