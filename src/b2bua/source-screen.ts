import type { Logger } from '../observability/index.js';
import type { Endpoint, SourceVerdict } from '../sip/index.js';
import type { PeerTable } from './routing.js';

/** How often a repeated non-peer source is logged again. */
const NON_PEER_LOG_INTERVAL_MS = 60_000;

/** What {@link SourceScreen} checks sources against. */
export interface SourceScreenOptions {
  readonly peers: PeerTable;
  /** What a request from neither trunk nor PBX gets. @default '403' */
  readonly onNonPeer?: '403' | 'drop';
  readonly logger: Logger;
}

/**
 * The peer ACL, applied by the UA core before any parsing or transaction: trunk and PBX addresses
 * are accepted, anything else forbidden (403) or dropped; a refused source is logged at most once
 * a minute.
 */
export class SourceScreen {
  readonly #options: SourceScreenOptions;
  readonly #nonPeerLogged = new Map<string, number>();

  constructor(options: SourceScreenOptions) {
    this.#options = options;
  }

  /** The verdict for a source. */
  verdict(source: Endpoint): SourceVerdict {
    if (this.#options.peers.classify(source.address) !== undefined) return 'accept';
    this.#logNonPeer(source);
    return this.#options.onNonPeer === 'drop' ? 'drop' : 'forbid';
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
