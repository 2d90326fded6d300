import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { B2bua, PeerTable } from '../b2bua/index.js';
import { resolveSecret, type CallrecConfig, type SipListenConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import {
  addressesElement,
  SystemClock,
  TransportLayer,
  UserAgentCore,
  type CoreEvent,
  type Endpoint,
  type ListenerConfig,
} from '../sip/index.js';

/** What callrec implements today; the rest gets 501 (RFC 3261 §8.2.1). */
const IMPLEMENTED_METHODS = ['OPTIONS', 'ACK', 'CANCEL'];
const ACCEPTED_CONTENT_TYPES = ['application/sdp'];
const SUPPORTED_EXTENSIONS: string[] = [];

export interface RunningServer {
  /** The bound listeners (ports resolved when the config asked for 0). */
  readonly listeners: readonly Endpoint[];
  readonly core: UserAgentCore;
  /** Stops listening; idempotent. */
  close(): Promise<void>;
}

async function listenerConfig(
  listen: SipListenConfig,
  config: CallrecConfig,
  baseDir: string,
): Promise<ListenerConfig> {
  if (listen.transport !== 'tls') return { protocol: listen.transport, host: listen.host, port: listen.port };
  if (listen.certificate === undefined || listen.privateKey === undefined) {
    throw new Error(`TLS listener ${listen.host}:${listen.port} needs certificate and privateKey`);
  }
  const [certificate, privateKey, ca] = await Promise.all([
    readFile(listen.certificate, 'utf8'),
    readFile(listen.privateKey, 'utf8'),
    config.sip.tls.ca === undefined ? undefined : readFile(config.sip.tls.ca, 'utf8'),
  ]);
  const passphrase = listen.passphrase === undefined ? undefined : await resolveSecret(listen.passphrase, baseDir);
  return {
    protocol: 'tls',
    host: listen.host,
    port: listen.port,
    tls: {
      certificate,
      privateKey: passphrase === undefined ? privateKey : decryptKey(privateKey, passphrase),
      requestClientCertificate: config.sip.tls.requestClientCertificate,
      rejectUnauthorized: config.sip.tls.verifyServer,
      ...(ca === undefined ? {} : { ca }),
    },
  };
}

function decryptKey(pem: string, passphrase: string): string {
  return createPrivateKey({ key: pem, passphrase }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function logCoreEvent(logger: Logger, event: CoreEvent): void {
  switch (event.type) {
    case 'parse-error':
      logger.debug(
        {
          source: event.source.address,
          transport: event.source.protocol,
          code: event.error.code,
          answered: event.answered,
        },
        `malformed SIP message: ${event.error.message}`,
      );
      break;
    case 'request-rejected':
      logger.debug({ source: event.source.address, method: event.method, status: event.status }, 'request rejected');
      break;
    case 'transport-error':
      logger.warn(
        { destination: event.destination.address, port: event.destination.port, err: event.error.message },
        'SIP send failed',
      );
      break;
    case 'user-error':
      logger.error({ err: event.error }, 'error in SIP request handling');
      break;
    case 'source-dropped':
      break;
  }
}

/** Builds and starts the signalling path from a loaded config: transports, UA core, B2BUA. */
export async function startServer(config: CallrecConfig, configPath: string, logger: Logger): Promise<RunningServer> {
  const peers = new PeerTable(config);
  const b2bua = new B2bua({
    peers,
    onNonPeer: config.trunk.onReject === 'drop' && config.pbx.onReject === 'drop' ? 'drop' : '403',
    capabilities: { allow: IMPLEMENTED_METHODS, accept: ACCEPTED_CONTENT_TYPES, supported: SUPPORTED_EXTENSIONS },
    logger,
  });
  // The core and the transport layer refer to each other; the layer exists once it has bound.
  const wiring: { transports?: TransportLayer } = {};
  const core = new UserAgentCore({
    send: (data, destination) => {
      if (wiring.transports === undefined) return Promise.reject(new Error('transport layer not ready'));
      return wiring.transports.send(data, destination);
    },
    clock: new SystemClock(),
    timers: config.sip.timers,
    limits: config.sip.limits,
    checks: {
      implementedMethods: IMPLEMENTED_METHODS,
      supportedExtensions: SUPPORTED_EXTENSIONS,
      acceptedContentTypes: ACCEPTED_CONTENT_TYPES,
      isLocal: addressesElement,
    },
    screenSource: (source) => b2bua.screenSource(source),
    onRequest: (incoming) => b2bua.handleRequest(incoming),
    onEvent: (event) => logCoreEvent(logger, event),
  });
  const baseDir = dirname(configPath);
  const listeners = await Promise.all(config.sip.listen.map((listen) => listenerConfig(listen, config, baseDir)));
  const transports = await TransportLayer.create({
    listeners,
    onData: (inbound) => core.receive(inbound),
    onError: (error, source) => logger.debug({ source: source?.address, err: error.message }, 'transport error'),
  });
  wiring.transports = transports;
  const bound = transports.listeners.map((t) => t.local);
  for (const endpoint of bound) {
    logger.info({ transport: endpoint.protocol, host: endpoint.address, port: endpoint.port }, 'listening');
  }
  logger.info(
    { trunk: config.trunk.addresses, trunkUri: config.trunk.uri, pbx: config.pbx.addresses, pbxUri: config.pbx.uri },
    'peers configured',
  );
  let closed = false;
  return {
    listeners: bound,
    core,
    close: async () => {
      if (closed) return;
      closed = true;
      core.close();
      await transports.close();
    },
  };
}
