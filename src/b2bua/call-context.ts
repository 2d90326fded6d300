import type { Logger } from '../observability/index.js';
import type {
  Clock,
  ClientTransaction,
  ClientTransactionUser,
  Dialog,
  SipUri,
  Endpoint,
  SipMessage,
  SipRequest,
  TimerConfig,
  TransportProtocol,
  Uri,
  ViaSentBy,
} from '../sip/index.js';
import type { HeaderPolicy } from './header-policy.js';

/** The SIP services the B2BUA uses (the user-agent core and transport facts). */
export interface SignallingPort {
  sendRequest(request: SipRequest, destination: Endpoint, user: ClientTransactionUser): ClientTransaction;
  sendStateless(message: SipMessage, destination: Endpoint): Promise<void>;
  /** Where requests to `uri` go (RFC 3263 subset). */
  resolve(uri: SipUri): Promise<Endpoint>;
  /** Our advertised address and listening port for a transport, for Via and Contact. */
  localAddress(protocol: TransportProtocol): { host: string; port: number };
}

/** Which leg of a call: `a` faces the caller (incoming), `b` the callee (outgoing). */
export type LegName = 'a' | 'b';

/** The other leg. */
export function otherLeg(leg: LegName): LegName {
  return leg === 'a' ? 'b' : 'a';
}

/** What a CallSession needs from the B2BUA around it; built once by the B2BUA. */
export interface CallContext {
  readonly clock: Clock;
  readonly timers: TimerConfig;
  readonly headers: HeaderPolicy;
  readonly logger: Logger;
  readonly ringTimeoutMs: number;
  /** Whether numbers may be logged unmasked. */
  readonly personalData: boolean;
  sendRequest(request: SipRequest, destination: Endpoint, user: ClientTransactionUser): ClientTransaction;
  sendStateless(message: SipMessage, destination: Endpoint): Promise<void>;
  /** Where a request whose Request-URI / top Route is `uri` goes. */
  resolve(uri: Uri): Promise<Endpoint>;
  /** Our Via sent-by toward a destination on `protocol`. */
  via(protocol: TransportProtocol): ViaSentBy;
  /** Our Contact value (`<sip:callrec@host:port;transport=...>`) for `protocol`. */
  contact(protocol: TransportProtocol): string;
  /** Registers a dialog of a session so in-dialog requests find it. */
  addDialog(dialog: Dialog, leg: LegName): void;
}
