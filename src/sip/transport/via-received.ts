import { formatVia, getHeaderValues, withHeaders, type SipRequest, type Via } from '../message/index.js';
import { ipFamily, normalizeIp, sameIp } from './ip-address.js';
import { isReliable, type Endpoint, type TransportProtocol } from './transport.js';

/** Default SIP ports (RFC 3261 §19.1.2): 5060 for UDP/TCP, 5061 for TLS. */
export function defaultPort(protocol: TransportProtocol): number {
  return protocol === 'tls' ? 5061 : 5060;
}

/**
 * Server transport behaviour on receiving a request (RFC 3261 §18.2.1, RFC 3581 §4): returns the
 * request with the top Via stamped, or the same object when nothing changes.
 *
 * - `received=<source address>` is added when the sent-by host is a domain name or an IP that
 *   differs from the source address, and always when `rport` is present (RFC 3581 §4);
 * - an empty `rport` is filled with the source port (RFC 3581 §4).
 *
 * The other Via values are kept verbatim and in order; every Via value becomes its own header
 * field (equivalent to a comma list, §7.3.1), and the Via fields move to the top of the header.
 */
export function stampReceived(request: SipRequest, source: Endpoint): SipRequest {
  const top = request.via[0];
  if (top === undefined) return request;
  const rport = top.params.get('rport');
  const hasRport = top.params.has('rport');
  const differs = top.hostType === 'domain' || !sameIp(top.host, source.address);
  const params = new Map(top.params);
  let changed = false;
  if (differs || hasRport) {
    // received = IPv4address / IPv6address (§25.1: IPv6 without brackets).
    const received = normalizeIp(source.address);
    const current = top.params.get('received');
    if (current === undefined || current === null || normalizeIp(current) !== received) {
      params.set('received', received);
      changed = true;
    }
  }
  if (hasRport && (rport === null || rport === undefined)) {
    params.set('rport', String(source.port));
    changed = true;
  }
  if (!changed) return request;
  const values = getHeaderValues(request, 'Via');
  const rewritten: Via = { ...top, params };
  const fields: Array<readonly [string, string]> = [['Via', formatVia(rewritten)]];
  for (const value of values.slice(1)) fields.push(['Via', value]);
  return withHeaders(request, { remove: ['Via'], prepend: fields });
}

/** A received parameter's address, brackets removed; undefined when absent or not an IP. */
function receivedAddress(via: Via): string | undefined {
  const value = via.params.get('received');
  if (value === undefined || value === null) return undefined;
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return ipFamily(bare) === 0 ? undefined : bare;
}

function numericPort(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || !/^[0-9]{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port > 0 && port <= 65535 ? port : undefined;
}

/**
 * Where a server sends a response (RFC 3261 §18.2.2, RFC 3581 §4), given the response's top Via
 * and the endpoint the request came from:
 *
 * - reliable transport (TCP/TLS): the source itself, i.e. the same connection;
 * - `maddr`: that address, at the sent-by port or 5060 (§18.2.2);
 * - `received` (+ `rport` with a value): that address at the rport, else the sent-by port, else 5060;
 * - otherwise the sent-by address and port (5060 by default).
 *
 * The protocol of the result is the source's. Use {@link responseReconnectDestination} when the
 * connection of a reliable request has gone.
 */
export function responseDestination(via: Via, source: Endpoint): Endpoint {
  if (isReliable(source.protocol)) {
    // §18.2.2: "the response MUST be sent using the existing connection to the source of the
    // original request that created the transaction".
    return source;
  }
  const sentByPort = via.port ?? defaultPort(source.protocol);
  const maddr = via.params.get('maddr');
  if (maddr !== undefined && maddr !== null) {
    const bare = maddr.startsWith('[') && maddr.endsWith(']') ? maddr.slice(1, -1) : maddr;
    // §18.2.2: "forwarded to the address listed there, using the port indicated in sent-by".
    // NOTE(deviation): a maddr that is a domain name is not resolved here; the received/sent-by
    // rules below apply instead. The ttl parameter is not applied to multicast sends.
    if (ipFamily(bare) !== 0) return { protocol: source.protocol, address: bare, port: sentByPort };
  }
  // RFC 3581 §4: with received and rport, send to received at rport.
  const rport = numericPort(via.params.get('rport'));
  const port = rport ?? sentByPort;
  const received = receivedAddress(via);
  if (received !== undefined) return { protocol: source.protocol, address: received, port };
  if (via.hostType !== 'domain') return { protocol: source.protocol, address: via.host, port };
  // NOTE(deviation): a domain sent-by without received (§18.2.2 would resolve it per RFC 3263 §5)
  // does not occur after stampReceived, which always adds received for domains; use the source.
  return { protocol: source.protocol, address: source.address, port };
}

/**
 * §18.2.2 for a reliable request whose connection has closed: "the server SHOULD open a
 * connection to the IP address in the received parameter, if present, using the port in the
 * sent-by value, or the default port for that transport". Undefined when there is no IP to use.
 */
export function responseReconnectDestination(via: Via, source: Endpoint): Endpoint | undefined {
  const port = via.port ?? defaultPort(source.protocol);
  const received = receivedAddress(via);
  if (received !== undefined) return { protocol: source.protocol, address: received, port };
  if (via.hostType !== 'domain') return { protocol: source.protocol, address: via.host, port };
  return undefined;
}
