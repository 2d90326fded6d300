import { isSipUri, type NameAddr, type SipRequest, type SipResponse, type Uri } from '../message/index.js';

/** A dialog's route set (RFC 3261 §12.1): the next hops in order, parameters preserved. */
export type RouteSet = readonly NameAddr[];

/** RFC 3261 §12.1.2: the UAC takes the response's Record-Route in reverse order. */
export function uacRouteSet(response: SipResponse): RouteSet {
  return [...response.recordRoute].reverse();
}

/** RFC 3261 §12.1.1: the UAS takes the request's Record-Route in order. */
export function uasRouteSet(request: SipRequest): RouteSet {
  return [...request.recordRoute];
}

/** Whether a route entry is a loose router (its URI carries `lr`, RFC 3261 §16.12.1.1). */
export function isLooseRouter(entry: NameAddr): boolean {
  return isSipUri(entry.uri) && entry.uri.params.has('lr');
}

/** Request-URI and Route header values of a request sent within a dialog. */
export interface RequestTarget {
  readonly requestUri: Uri;
  readonly route: readonly NameAddr[];
}

/**
 * RFC 3261 §19.1.1 table 1: `method` and URI headers are not allowed in a Request-URI; a strict
 * router's URI moved into the Request-URI loses them.
 */
function asRequestUri(uri: Uri): Uri {
  if (!isSipUri(uri)) return uri;
  if (!uri.params.has('method') && uri.headers.length === 0) return uri;
  const params = new Map(uri.params);
  params.delete('method');
  return { ...uri, params, headers: [] };
}

/**
 * RFC 3261 §12.2.1.1: where an in-dialog request goes.
 *  - empty route set: Request-URI = remote target, no Route;
 *  - first route loose (`;lr`): Request-URI = remote target, Route = the route set;
 *  - first route strict: Request-URI = first route URI (stripped of disallowed parameters), Route =
 *    the rest of the route set followed by the remote target.
 */
export function requestTarget(remoteTarget: Uri, routeSet: RouteSet): RequestTarget {
  const first = routeSet[0];
  if (first === undefined) return { requestUri: remoteTarget, route: [] };
  if (isLooseRouter(first)) return { requestUri: remoteTarget, route: routeSet };
  const target: NameAddr = { displayName: undefined, uri: remoteTarget, params: new Map<string, string | null>() };
  return { requestUri: asRequestUri(first.uri), route: [...routeSet.slice(1), target] };
}
