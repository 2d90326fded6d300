import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolveSecret, type CallrecConfig, type SipListenConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { CoreEvent, ListenerConfig } from '../sip/index.js';

/** The transport layer's view of one `sip.listen` entry; TLS material read (and decrypted) here. */
export async function listenerConfig(
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

/** One debug/warn/error line per SIP core event (parse errors, rejections, send failures). */
export function logCoreEvent(logger: Logger, event: CoreEvent): void {
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
