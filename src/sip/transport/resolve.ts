import { promises as dns } from 'node:dns';
import { AppError } from '../../errors.js';
import type { SipUri } from '../message/index.js';
import { ipFamily, normalizeIp } from './ip-address.js';
import type { Endpoint, TransportProtocol } from './transport.js';
import { defaultPort } from './via-received.js';

/** One address of a host name. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** A → all A/AAAA addresses of a name, in resolver order. */
export type HostLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;
/** An SRV query; an empty list or a rejection both mean "no SRV records". */
export type SrvLookup = (name: string) => Promise<readonly SrvRecord[]>;

export interface ResolveOptions {
  /** @default node:dns `lookup(name, { all: true })` */
  readonly lookup?: HostLookup;
  /** @default node:dns `resolveSrv` */
  readonly resolveSrv?: SrvLookup;
  /** Query SRV for names without an explicit port (RFC 3263 §4.2). @default false */
  readonly srv?: boolean;
  /** Keep only addresses of this family. @default undefined (both) */
  readonly family?: 4 | 6;
  /** Random source for SRV weight ordering (RFC 2782). @default Math.random */
  readonly random?: () => number;
}

const defaultLookup: HostLookup = async (hostname) => dns.lookup(hostname, { all: true, verbatim: true });
const defaultSrv: SrvLookup = async (name) => dns.resolveSrv(name);

/**
 * The transport for a URI (RFC 3263 §4.1 without NAPTR): the `transport` parameter, else TLS for
 * `sips`, else UDP. `sips` with `transport=tcp` means TLS over TCP (RFC 3261 §26.2.2).
 */
export function uriTransport(uri: SipUri): TransportProtocol {
  const param = uri.params.get('transport');
  if (param === undefined || param === null) return uri.scheme === 'sips' ? 'tls' : 'udp';
  switch (param.toLowerCase()) {
    case 'udp':
      if (uri.scheme === 'sips') throw new AppError('SIP_TRANSPORT_ERROR', 'a sips URI cannot use transport=udp');
      return 'udp';
    case 'tcp':
      return uri.scheme === 'sips' ? 'tls' : 'tcp';
    case 'tls':
      return 'tls';
    default:
      throw new AppError('SIP_TRANSPORT_ERROR', `unsupported transport "${param}"`);
  }
}

/**
 * Resolves a SIP URI to the endpoints to try, in order (RFC 3263 §4 subset): the `maddr`
 * parameter or the host; an IP literal is itself; a name is resolved by SRV (when enabled and no
 * port is given, `_sip._udp.` / `_sip._tcp.` / `_sips._tcp.`) and A/AAAA. The port is the URI's,
 * the SRV record's, or 5060 (5061 for TLS). Rejects with AppError SIP_TRANSPORT_ERROR when
 * nothing resolves.
 */
export async function resolveTarget(uri: SipUri, options: ResolveOptions = {}): Promise<Endpoint[]> {
  const protocol = uriTransport(uri);
  const maddr = uri.params.get('maddr');
  // RFC 3263 §4: "If the URI contains an maddr parameter, the maddr is the target".
  const rawHost = maddr !== undefined && maddr !== null ? maddr.replace(/^\[|\]$/g, '') : uri.host;
  const port = uri.port ?? defaultPort(protocol);
  const keep = (address: string): boolean => options.family === undefined || ipFamily(address) === options.family;

  if (ipFamily(rawHost) !== 0) {
    // §4.2: a numeric IP address uses the URI's port or the default.
    const address = normalizeIp(rawHost);
    if (!keep(address)) throw new AppError('SIP_TRANSPORT_ERROR', `${address} is not an IPv${options.family} address`);
    return [{ protocol, address, port }];
  }

  const lookup = options.lookup ?? defaultLookup;
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  const add = (address: string, targetPort: number): void => {
    const normal = normalizeIp(address);
    const key = `${normal}|${targetPort}`;
    if (!keep(normal) || seen.has(key)) return;
    seen.add(key);
    out.push({ protocol, address: normal, port: targetPort });
  };
  const addressesOf = async (name: string): Promise<readonly ResolvedAddress[]> => {
    try {
      return await lookup(name);
    } catch {
      return [];
    }
  };

  if (options.srv === true && uri.port === undefined) {
    // §4.2: no port and not numeric → SRV for the chosen transport.
    const service = protocol === 'tls' ? `_sips._tcp.${rawHost}` : `_sip._${protocol}.${rawHost}`;
    let records: readonly SrvRecord[] = [];
    try {
      records = await (options.resolveSrv ?? defaultSrv)(service);
    } catch {
      records = [];
    }
    for (const record of orderSrv(records, options.random ?? Math.random)) {
      // RFC 2782: a target of "." means the service is decidedly not available.
      if (record.name === '.' || record.name === '') continue;
      for (const resolved of await addressesOf(record.name)) add(resolved.address, record.port);
    }
    if (records.length > 0 && out.length === 0) {
      throw new AppError('SIP_TRANSPORT_ERROR', `no address for the SRV targets of ${service}`);
    }
  }
  if (out.length === 0) {
    // §4.2: without SRV records, A/AAAA of the name at the URI's or the default port.
    let resolved: readonly ResolvedAddress[];
    try {
      resolved = await lookup(rawHost);
    } catch (error) {
      throw new AppError('SIP_TRANSPORT_ERROR', `cannot resolve ${rawHost}`, { cause: error });
    }
    for (const entry of resolved) add(entry.address, port);
    if (out.length === 0) throw new AppError('SIP_TRANSPORT_ERROR', `no usable address for ${rawHost}`);
  }
  return out;
}

/**
 * SRV records in the order to try (RFC 2782): ascending priority; within one priority a
 * weighted random order (weight 0 records first in the running sum, so they rarely win).
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const record of records) {
    const group = byPriority.get(record.priority);
    if (group === undefined) byPriority.set(record.priority, [record]);
    else group.push(record);
  }
  const out: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const group = [...(byPriority.get(priority) ?? [])].sort((a, b) => a.weight - b.weight);
    while (group.length > 0) {
      const total = group.reduce((sum, r) => sum + r.weight, 0);
      const pick = Math.floor(random() * (total + 1));
      let running = 0;
      let index = group.length - 1;
      for (let i = 0; i < group.length; i++) {
        running += (group[i] as SrvRecord).weight;
        if (running >= pick) {
          index = i;
          break;
        }
      }
      out.push(...group.splice(index, 1));
    }
  }
  return out;
}
