import type { Logger } from '../observability/index.js';
import { isSipUri, type Clock, type Dialog, type TimerConfig, type Uri, type ViaSentBy } from '../sip/index.js';
import type { CallContext, LegName, SignallingPort } from './call-context.js';
import type { HeaderPolicy } from './header-policy.js';

/** The B2BUA's services a call's context is made of. */
export interface SignallingServices {
  readonly signalling: SignallingPort;
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly headers: HeaderPolicy;
  readonly logger: Logger;
  readonly ringTimeoutMs: number;
  readonly personalData: boolean;
}

/**
 * A call's CallContext over the signalling port: Via and Contact from our listening addresses,
 * routing only to SIP URIs; dialogs the call creates go to `addDialog`.
 */
export function signallingContext(
  services: SignallingServices,
  addDialog: (dialog: Dialog, leg: LegName) => void,
): CallContext {
  const signalling = services.signalling;
  return {
    clock: services.clock,
    timers: services.timers,
    headers: services.headers,
    logger: services.logger,
    ringTimeoutMs: services.ringTimeoutMs,
    personalData: services.personalData,
    sendRequest: (request, destination, user) => signalling.sendRequest(request, destination, user),
    sendStateless: (message, destination) => signalling.sendStateless(message, destination),
    resolve: (uri: Uri) => {
      if (!isSipUri(uri)) return Promise.reject(new Error(`cannot route to a ${uri.scheme}: URI`));
      return signalling.resolve(uri);
    },
    via: (protocol): ViaSentBy => {
      const local = signalling.localAddress(protocol);
      return { transport: protocol.toUpperCase(), host: local.host, port: local.port, rport: true };
    },
    contact: (protocol) => {
      const local = signalling.localAddress(protocol);
      const host = local.host.includes(':') ? `[${local.host}]` : local.host;
      return `<sip:callrec@${host}:${local.port}${protocol === 'udp' ? '' : `;transport=${protocol}`}>`;
    },
    addDialog,
  };
}
