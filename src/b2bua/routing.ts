import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.js';

/** The two sides callrec sits between. A request from the trunk is inbound, from the PBX outbound. */
export type PeerSide = 'trunk' | 'pbx';

/** One side: its source addresses / CIDR networks and the URI requests toward it go to. */
export interface PeerDefinition {
  readonly addresses: readonly string[];
  readonly uri: string;
}

/** Constructor input of `PeerTable` (structurally the `trunk` / `pbx` config sections). */
export interface PeerTableOptions {
  readonly trunk: PeerDefinition;
  readonly pbx: PeerDefinition;
}

/**
 * Source-address ACL of the B2BUA: tells which side a packet came from, or that it came from
 * neither (→ 403 or silent drop; callrec is never an open relay). IPv4-mapped IPv6 sources
 * (`::ffff:10.0.0.5`, as dual-stack sockets report them) match IPv4 entries and vice versa.
 * When an address matches both sides, trunk wins (the config loader warns about overlaps).
 */
export class PeerTable {
  readonly #trunk: BlockList;
  readonly #pbx: BlockList;
  readonly #uris: Readonly<Record<PeerSide, string>>;

  constructor(peers: PeerTableOptions) {
    this.#trunk = buildList('trunk', peers.trunk.addresses);
    this.#pbx = buildList('pbx', peers.pbx.addresses);
    this.#uris = { trunk: peers.trunk.uri, pbx: peers.pbx.uri };
  }

  /** The side `address` belongs to, or undefined for any other (or unparseable) source. */
  classify(address: string): PeerSide | undefined {
    const normalised = normaliseAddress(address);
    if (normalised === undefined) return undefined;
    const [ip, type] = normalised;
    if (this.#trunk.check(ip, type)) return 'trunk';
    if (this.#pbx.check(ip, type)) return 'pbx';
    return undefined;
  }

  /** The URI requests toward `side` are sent to. */
  uriOf(side: PeerSide): string {
    return this.#uris[side];
  }
}

type AddressType = 'ipv4' | 'ipv6';

/** Strips `[...]` and a zone id (`%eth0`); undefined if what remains is not an IP address. */
function normaliseAddress(address: string): [string, AddressType] | undefined {
  let ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const family = isIP(ip);
  if (family === 0) return undefined;
  return [ip, family === 4 ? 'ipv4' : 'ipv6'];
}

function buildList(side: PeerSide, entries: readonly string[]): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const invalid = (): AppError =>
      new AppError('CONFIG_INVALID', `${side}.addresses[${i}] is not an IP address or CIDR network: ${entry}`);
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    const family = isIP(address);
    if (family === 0 || address.includes('%')) throw invalid();
    const type: AddressType = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      list.addAddress(address, type);
      return;
    }
    const prefixText = entry.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^[0-9]{1,3}$/.test(prefixText) || prefix > (type === 'ipv4' ? 32 : 128)) throw invalid();
    list.addSubnet(address, prefix, type);
  });
  return list;
}
