/** One admin HTTP request as a route sees it. */
export interface AdminRequest {
  readonly method: string;
  /** The path without the query string, as sent (percent-encoding kept). */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The capture groups of the route's `path` pattern, percent-decoded. */
  readonly params: readonly string[];
  /** Who asked, for the audit log: `http:<remote address>`. */
  readonly actor: string;
}

/** What a route answers; an object body is sent as JSON. */
export interface AdminResponse {
  readonly status: number;
  readonly body: string | Readonly<Record<string, unknown>>;
  /** For string bodies. @default "text/plain; charset=utf-8" */
  readonly contentType?: string;
}

/** A route of the admin endpoint: method plus an anchored path pattern. */
export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Matched against the whole path; capture groups become `params`. */
  readonly path: RegExp;
  handle(request: AdminRequest): Promise<AdminResponse> | AdminResponse;
}

/** The result of routing: a handler with its params, or why there is none. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: AdminRoute; readonly params: readonly string[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] };

/** Finds the route for a request: 404 when no pattern matches, 405 (with Allow) when only the method differs. */
export function matchRoute(routes: readonly AdminRoute[], method: string, path: string): RouteMatch {
  const allow = new Set<string>();
  for (const route of routes) {
    const match = wholeMatch(route.path, path);
    if (match === undefined) continue;
    if (route.method !== method) {
      allow.add(route.method);
      continue;
    }
    const params = match.slice(1).map((param) => decodeParam(param ?? ''));
    if (params.some((param) => param === undefined)) return { kind: 'not-found' };
    return { kind: 'found', route, params: params as string[] };
  }
  return allow.size === 0 ? { kind: 'not-found' } : { kind: 'method-not-allowed', allow: [...allow].sort() };
}

function wholeMatch(pattern: RegExp, path: string): RegExpExecArray | undefined {
  const match = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).exec(path);
  return match !== null && match.index === 0 && match[0].length === path.length ? match : undefined;
}

function decodeParam(param: string): string | undefined {
  try {
    return decodeURIComponent(param);
  } catch {
    return undefined;
  }
}
