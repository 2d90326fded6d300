import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isLoopback } from '../config/index.js';
import { AppError } from '../errors.js';
import { matchRoute, type AdminResponse, type AdminRoute } from './admin-route.js';
import type { HealthCheck } from './health-checks.js';
import {
  healthRoute,
  metricsRoute,
  recordingControlRoutes,
  type HealthSnapshot,
  type MetricsText,
  type RecordingControlOptions,
} from './standard-routes.js';

/** How long one `/healthz` check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 2000;

export interface AdminHttpOptions {
  /** @default 127.0.0.1 (SPEC §7: the admin endpoint binds to localhost) */
  readonly host: string;
  readonly port: number;
  /**
   * Bearer token (RFC 6750): when set, every request needs `Authorization: Bearer <token>`.
   * Required when `host` is not a loopback address.
   */
  readonly token?: string;
  /** The live counts every `/healthz` answer carries. */
  readonly health: () => HealthSnapshot;
  /** Named `/healthz` checks (SIP listeners, database, keystore, spool, uploads). @default {} */
  readonly checks?: Readonly<Record<string, HealthCheck>>;
  /** Serves `GET /metrics`; without it the path is unknown. */
  readonly metrics?: MetricsText;
  /** Enables `POST /calls/<id>/recording/pause|resume`; without it the paths are unknown. */
  readonly recordingControl?: RecordingControlOptions;
  /** More routes (the composition root's call-control hooks); checked after the built-in ones. */
  readonly routes?: readonly AdminRoute[];
  /** Told about a route that threw (the client got 500). */
  readonly onError?: (error: unknown, request: { readonly method: string; readonly path: string }) => void;
}

/**
 * The admin HTTP endpoint: `GET /healthz` (JSON), `GET /metrics` (Prometheus) and the recording
 * control routes, behind an optional bearer token. Unknown paths get 404, a known path with
 * another method 405.
 */
export class AdminHttpServer {
  readonly #server: Server;
  readonly #options: AdminHttpOptions;
  readonly #routes: readonly AdminRoute[];
  readonly #tokenDigest: Buffer | undefined;

  private constructor(options: AdminHttpOptions) {
    this.#options = options;
    this.#tokenDigest = options.token === undefined ? undefined : sha256(options.token);
    this.#routes = [
      healthRoute({ snapshot: options.health, checks: options.checks ?? {}, timeoutMs: CHECK_TIMEOUT_MS }),
      ...(options.metrics === undefined ? [] : [metricsRoute(options.metrics)]),
      ...(options.recordingControl === undefined ? [] : recordingControlRoutes(options.recordingControl)),
      ...(options.routes ?? []),
    ];
    this.#server = createServer((request, response) => {
      // Bodies are not read by any route; drain them so the connection can be reused.
      request.resume();
      this.#handle(request, response).catch((error: unknown) => {
        this.#options.onError?.(error, { method: request.method ?? '', path: '' });
        send(response, { status: 500, body: { error: 'internal error' } });
      });
    });
  }

  /**
   * Binds and listens. Rejects with CONFIG_INVALID when `host` is not a loopback address and no
   * token is set, or the token is empty; with the listen error when the port is taken.
   */
  static async start(options: AdminHttpOptions): Promise<AdminHttpServer> {
    if (options.token !== undefined && options.token.trim() === '')
      throw new AppError('CONFIG_INVALID', 'admin.http.token is empty');
    if (options.token === undefined && !isLoopback(options.host))
      throw new AppError(
        'CONFIG_INVALID',
        `admin.http.host is ${options.host}, not a loopback address: set admin.http.token (a bearer token) to expose the admin endpoint`,
      );
    const admin = new AdminHttpServer(options);
    await new Promise<void>((resolve, reject) => {
      admin.#server.once('error', reject);
      admin.#server.listen(options.port, options.host, () => {
        admin.#server.off('error', reject);
        resolve();
      });
    });
    return admin;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : this.#options.port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    if (!this.#authorised(request.headers.authorization)) {
      // RFC 6750 §3: the challenge names the scheme; no hint whether a token was sent or wrong
      send(
        response,
        { status: 401, body: { error: 'unauthorised' } },
        { 'www-authenticate': 'Bearer realm="callrec"' },
      );
      return;
    }
    const url = parseRequestTarget(request.url);
    if (url === undefined) {
      send(response, { status: 400, body: { error: 'bad request target' } });
      return;
    }
    const match = matchRoute(this.#routes, method, url.pathname);
    if (match.kind === 'not-found') {
      send(response, { status: 404, body: { error: 'not found' } });
      return;
    }
    if (match.kind === 'method-not-allowed') {
      send(response, { status: 405, body: { error: 'method not allowed' } }, { allow: match.allow.join(', ') });
      return;
    }
    try {
      const answer = await match.route.handle({
        method,
        path: url.pathname,
        query: url.searchParams,
        params: match.params,
        actor: `http:${remoteAddress(request)}`,
      });
      send(response, answer);
    } catch (error) {
      this.#options.onError?.(error, { method, path: url.pathname });
      send(response, { status: 500, body: { error: 'internal error' } });
    }
  }

  #authorised(header: string | undefined): boolean {
    const expected = this.#tokenDigest;
    if (expected === undefined) return true;
    // RFC 6750 §2.1: the scheme is case-insensitive; the token itself is compared exactly
    const given = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    // Comparing digests keeps the comparison constant-time and independent of the token's length
    return given !== undefined && timingSafeEqual(sha256(given), expected);
  }
}

/** The request target as a URL (origin or absolute form); `undefined` when it is not one. */
function parseRequestTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://admin.invalid');
  } catch {
    return undefined;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The client's address without the IPv4-mapped prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
function remoteAddress(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

function send(response: ServerResponse, answer: AdminResponse, headers: Readonly<Record<string, string>> = {}): void {
  if (response.headersSent) return;
  const json = typeof answer.body !== 'string';
  const body = json ? `${JSON.stringify(answer.body)}\n` : answer.body;
  response.writeHead(answer.status, {
    'content-type': json ? 'application/json' : (answer.contentType ?? 'text/plain; charset=utf-8'),
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(body);
}
