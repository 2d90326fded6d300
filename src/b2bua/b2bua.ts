import type { Logger } from '../observability/index.js';
import type { Endpoint, IncomingRequest, SourceVerdict } from '../sip/index.js';
import type { PeerTable } from './routing.js';

/** What callrec advertises in OPTIONS answers and 501/405 responses. */
export interface Capabilities {
  readonly allow: readonly string[];
  readonly accept: readonly string[];
  readonly supported: readonly string[];
}

export interface B2buaOptions {
  readonly peers: PeerTable;
  /** What a request from neither trunk nor PBX gets. @default '403' */
  readonly onNonPeer?: '403' | 'drop';
  readonly capabilities: Capabilities;
  readonly logger: Logger;
}

/** How often a repeated non-peer source is logged again. */
const NON_PEER_LOG_INTERVAL_MS = 60_000;

/**
 * The B2BUA's entry point for requests from the UA core: peer ACL and the requests callrec answers
 * itself (OPTIONS). Call handling between trunk and PBX builds on this.
 */
export class B2bua {
  readonly #options: B2buaOptions;
  readonly #nonPeerLogged = new Map<string, number>();

  constructor(options: B2buaOptions) {
    this.#options = options;
  }

  /** The ACL verdict for a source, applied by the UA core before any parsing or transaction. */
  screenSource(source: Endpoint): SourceVerdict {
    if (this.#options.peers.classify(source.address) !== undefined) return 'accept';
    this.#logNonPeer(source);
    return this.#options.onNonPeer === 'drop' ? 'drop' : 'forbid';
  }

  /** A request that passed the ACL and the §8.2 checks. */
  handleRequest(incoming: IncomingRequest): void {
    const { request } = incoming;
    const side = this.#options.peers.classify(incoming.source.address);
    if (side === undefined) {
      incoming.respond(403);
      return;
    }
    if (request.method === 'OPTIONS') {
      const { allow, accept, supported } = this.#options.capabilities;
      incoming.respond(200, {
        headers: [
          ['Allow', allow.join(', ')],
          ['Accept', accept.join(', ')],
          ['Supported', supported.join(', ')],
        ],
      });
      this.#options.logger.debug({ side, source: incoming.source.address }, 'OPTIONS answered');
      return;
    }
    incoming.respond(501, { headers: [['Allow', this.#options.capabilities.allow.join(', ')]] });
  }

  #logNonPeer(source: Endpoint): void {
    const now = Date.now();
    const last = this.#nonPeerLogged.get(source.address);
    if (last !== undefined && now - last < NON_PEER_LOG_INTERVAL_MS) return;
    if (this.#nonPeerLogged.size > 4096) this.#nonPeerLogged.clear();
    this.#nonPeerLogged.set(source.address, now);
    this.#options.logger.warn(
      { source: source.address, transport: source.protocol, action: this.#options.onNonPeer ?? '403' },
      'request from a source that is neither trunk nor PBX refused',
    );
  }
}
