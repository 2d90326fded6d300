import { setTimeout as delay } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { AppError } from '../../errors.js';
import type { OneDriveTokenSource } from './onedrive-auth.js';

/** Statuses retried in place: throttling and transient server trouble (Microsoft Graph throttling guidance). */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** One HTTP exchange with Microsoft Graph or one of its upload / download URLs. */
export interface HttpCall {
  readonly method: Dispatcher.HttpMethod;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** Send the bearer token: true for Graph, false for upload and pre-authenticated download URLs. */
  readonly auth: boolean;
}

/** Options of {@link GraphHttp}. */
export interface GraphHttpOptions {
  readonly tokens: OneDriveTokenSource;
  readonly dispatcher: Dispatcher;
  /** Attempts per call on throttling, server errors and network errors. @default 5 */
  readonly maxAttempts?: number;
  /** The longest Retry-After waited out in place; a longer one fails the call (retriable). @default 120000 */
  readonly maxRetryAfterMs?: number;
  /** Waits between attempts. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * HTTP to Microsoft Graph with undici: bearer token, retry of network errors and 429/5xx
 * (Retry-After honoured, else jittered backoff), one token refresh after a 401. Tokens never
 * appear in errors.
 */
export class GraphHttp {
  readonly maxAttempts: number;
  readonly #tokens: OneDriveTokenSource;
  readonly #dispatcher: Dispatcher;
  readonly #maxRetryAfterMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  #closed = false;

  constructor(options: GraphHttpOptions) {
    this.#tokens = options.tokens;
    this.#dispatcher = options.dispatcher;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /** Makes every later call reject with `ARCHIVE_IO`. */
  close(): void {
    this.#closed = true;
  }

  /** One exchange (bearer token when `auth`), no retries; network errors are thrown as they are. */
  async request(call: HttpCall, forceRefresh = false): Promise<Dispatcher.ResponseData> {
    if (this.#closed) throw new AppError('ARCHIVE_IO', 'the OneDrive target is closed');
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (call.auth) headers.authorization = `Bearer ${await this.#tokens.accessToken({ forceRefresh })}`;
    return request(call.url, { method: call.method, headers, body: call.body, dispatcher: this.#dispatcher });
  }

  /**
   * {@link request} with retries: network errors and 429/500/502/503/504 up to `maxAttempts`;
   * a 401 refreshes the token and retries once, a second one is `ARCHIVE_AUTH`. Any other answer
   * is returned with its body unread.
   */
  async send(call: HttpCall, what: string): Promise<Dispatcher.ResponseData> {
    let refreshed = false;
    let forceRefresh = false;
    for (let attempt = 1; ; attempt++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await this.request(call, forceRefresh);
      } catch (error) {
        if (error instanceof AppError) throw error;
        if (attempt >= this.maxAttempts) {
          throw new AppError('ARCHIVE_CONNECT', `${what}: cannot reach ${new URL(call.url).host}`, {
            cause: error,
            retriable: true,
          });
        }
        await this.#sleep(backoffMs(attempt));
        continue;
      }
      forceRefresh = false;
      const status = response.statusCode;
      if (status === 401 && call.auth) {
        await response.body.dump();
        if (refreshed)
          throw new AppError('ARCHIVE_AUTH', `${what}: Microsoft Graph refused a fresh access token (401)`);
        refreshed = true;
        forceRefresh = true;
        attempt--;
        continue;
      }
      if (!TRANSIENT_STATUSES.has(status)) return response;
      const wait = retryAfterMs(header(response.headers, 'retry-after'));
      const reason = await graphErrorText(response);
      if (attempt >= this.maxAttempts) {
        throw new AppError('ARCHIVE_IO', `${what}: HTTP ${status}${reason} after ${attempt} attempts`, {
          retriable: true,
        });
      }
      await this.pause(wait, attempt, what);
    }
  }

  /**
   * Waits before attempt `attempt + 1`: the server's Retry-After when given (refusing one longer
   * than `maxRetryAfterMs` with a retriable `ARCHIVE_IO`), else jittered backoff.
   */
  async pause(retryAfter: number | undefined, attempt: number, what: string): Promise<void> {
    if (retryAfter === undefined) return this.#sleep(backoffMs(attempt));
    if (retryAfter > this.#maxRetryAfterMs) {
      throw new AppError('ARCHIVE_IO', `${what}: throttled, Retry-After ${Math.ceil(retryAfter / 1000)} s`, {
        retriable: true,
      });
    }
    return this.#sleep(retryAfter);
  }
}

/** A Graph call with a JSON body. */
export function jsonCall(method: Dispatcher.HttpMethod, url: string, body: unknown): HttpCall {
  return { method, url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), auth: true };
}

/** Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3) in ms; `undefined` when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with ±20 % jitter: 0.5 s doubling up to 30 s. */
export function backoffMs(attempt: number): number {
  return Math.round(Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1)) * (0.8 + Math.random() * 0.4));
}

/** A response header's first value. */
export function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The JSON object of an answer whose status is in `ok`; any other answer becomes its AppError. */
export async function expectJson(
  response: Dispatcher.ResponseData,
  ok: readonly number[],
  what: string,
): Promise<Record<string, unknown>> {
  if (!ok.includes(response.statusCode)) throw await failure(response, what);
  try {
    const value: unknown = await response.body.json();
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: not JSON
  }
  throw new AppError('ARCHIVE_IO', `${what}: unreadable answer from Microsoft Graph`, { retriable: true });
}

/** ` code: message` of a Graph error body, or `''` (consumes the body). */
export async function graphErrorText(response: Dispatcher.ResponseData): Promise<string> {
  const text = await response.body.text().catch(() => '');
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (typeof error?.code === 'string') {
      return ` ${error.code}${typeof error.message === 'string' ? `: ${error.message.slice(0, 200)}` : ''}`;
    }
  } catch {
    // not JSON
  }
  return '';
}

/**
 * The AppError for an unexpected answer (consumes the body): 401/403 `ARCHIVE_AUTH`, 404
 * `ARCHIVE_PATH` (retriable: a folder may be recreated), 409/412/423/5xx retriable `ARCHIVE_IO`
 * (507 is a full drive), other 4xx permanent `ARCHIVE_IO`.
 */
export async function failure(response: Dispatcher.ResponseData, what: string): Promise<AppError> {
  const status = response.statusCode;
  const message = `${what}: HTTP ${status}${await graphErrorText(response)}`;
  if (status === 401 || status === 403) return new AppError('ARCHIVE_AUTH', message);
  if (status === 404) return new AppError('ARCHIVE_PATH', message, { retriable: true });
  const retriable = status === 409 || status === 412 || status === 423 || status >= 500;
  return new AppError('ARCHIVE_IO', message, { retriable });
}
