import type { Socket } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { ipFamily } from './ip-address.js';
import {
  createStreamTransport,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type StreamTransport,
  type StreamTransportOptions,
} from './stream-transport.js';

/** Certificate material and verification policy for SIP over TLS (RFC 3261 §26.2, RFC 5922). */
export interface TlsSettings {
  /** Our certificate chain, PEM; presented as server and, when asked, as client certificate. */
  readonly certificate: string;
  /** The private key of `certificate`, PEM. */
  readonly privateKey: string;
  /** Trusted CA certificates, PEM; the system store when absent. */
  readonly ca?: string | readonly string[];
  /** Ask inbound clients for a certificate (mutual TLS). @default false */
  readonly requestClientCertificate?: boolean;
  /** Reject peers whose certificate does not verify (both directions). @default true */
  readonly rejectUnauthorized?: boolean;
  /**
   * The name to send as SNI and to check the server certificate against on outbound connections
   * (RFC 5922 §7.2 checks the SIP domain); without it the destination IP address is checked.
   */
  readonly serverName?: string;
}

/** Options of {@link createTlsTransport}. */
export interface TlsTransportOptions extends StreamTransportOptions {
  readonly tls: TlsSettings;
}

/**
 * A SIP-over-TLS transport: the TCP connection logic (framing, reuse, idle close, back-pressure)
 * over node:tls. TLS 1.2 is the minimum version.
 */
export function createTlsTransport(options: TlsTransportOptions): Promise<StreamTransport> {
  const settings = options.tls;
  const ca = settings.ca === undefined ? {} : { ca: typeof settings.ca === 'string' ? settings.ca : [...settings.ca] };
  const rejectUnauthorized = settings.rejectUnauthorized ?? true;
  return createStreamTransport(
    {
      protocol: 'tls',
      readyEvent: 'secureConnect',
      createServer: (onSocket, onError) => {
        const server = createServer(
          {
            cert: settings.certificate,
            key: settings.privateKey,
            ...ca,
            requestCert: settings.requestClientCertificate ?? false,
            rejectUnauthorized,
            handshakeTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
            minVersion: 'TLSv1.2',
          },
          (socket: TLSSocket) => onSocket(socket),
        );
        server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
          const { remoteAddress, remotePort } = socket;
          onError(
            error,
            remoteAddress === undefined || remotePort === undefined
              ? undefined
              : { protocol: 'tls', address: remoteAddress, port: remotePort },
          );
        });
        return server;
      },
      connect: (destination, localAddress): Socket => {
        const serverName = settings.serverName;
        return connect({
          host: destination.address,
          port: destination.port,
          cert: settings.certificate,
          key: settings.privateKey,
          ...ca,
          rejectUnauthorized,
          minVersion: 'TLSv1.2',
          // SNI carries host names only (RFC 6066 §3), never IP literals.
          ...(serverName !== undefined && ipFamily(serverName) === 0 ? { servername: serverName } : {}),
          ...(localAddress === undefined ? {} : { localAddress }),
        });
      },
    },
    options,
  );
}
