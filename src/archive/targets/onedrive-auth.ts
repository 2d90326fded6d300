import { createHash, randomBytes } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { AppError } from '../../errors.js';
import {
  authorizeEndpoint,
  nativeClientRedirectUri,
  oneDriveEndpoints,
  oneDriveScopes,
  tokenEndpoint,
  type OneDriveBaseUrls,
  type OneDriveCloud,
  type OneDriveEndpoints,
} from './onedrive-endpoints.js';
import type { RefreshTokenStore } from './onedrive-token-store.js';

/** What the OneDrive target needs from the OAuth side: a bearer token for Microsoft Graph. */
export interface OneDriveTokenSource {
  /**
   * A valid access token. `forceRefresh` skips the cache (after Graph answered 401).
   * Rejects with `ARCHIVE_AUTH` (not retriable) when the grant is gone.
   */
  accessToken(options?: { readonly forceRefresh?: boolean }): Promise<string>;
}

/** Options of {@link authorizeUrl}. */
export interface AuthorizeUrlOptions {
  readonly cloud: OneDriveCloud;
  /** `common`, `organizations`, `consumers`, a tenant id or domain. */
  readonly tenant: string;
  /** Application (client) id of the app registration. */
  readonly clientId: string;
  /** Registered redirect URI. @default the cloud's native-client URI */
  readonly redirectUri?: string;
  /** Random value echoed back with the code (CSRF protection). */
  readonly state: string;
  /** PKCE S256 challenge (see {@link createPkcePair}); omitted when undefined. */
  readonly codeChallenge?: string;
  /** The configured drive id; selects the scopes (see `oneDriveScopes`). */
  readonly driveId?: string;
  readonly baseUrls?: OneDriveBaseUrls;
}

/**
 * The consent URL of the OAuth 2.0 authorization code flow (Microsoft identity platform v2.0):
 * `response_type=code`, `response_mode=query`, scopes `offline_access Files.ReadWrite`.
 */
export function authorizeUrl(options: AuthorizeUrlOptions): string {
  const endpoints = oneDriveEndpoints(options.cloud, options.baseUrls);
  const query = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri ?? nativeClientRedirectUri(endpoints),
    response_mode: 'query',
    scope: oneDriveScopes(options.driveId),
    state: options.state,
  });
  if (options.codeChallenge !== undefined) {
    query.set('code_challenge', options.codeChallenge);
    query.set('code_challenge_method', 'S256');
  }
  return `${authorizeEndpoint(endpoints, options.tenant)}?${query.toString()}`;
}

/** A PKCE pair (RFC 7636): the verifier kept until redemption, its S256 challenge for the URL. */
export function createPkcePair(): { readonly verifier: string; readonly challenge: string } {
  const verifier = randomBytes(48).toString('base64url'); // 64 characters of [A-Za-z0-9_-]
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A random `state` value for the consent URL. */
export function createState(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * The code out of what the admin pasted: the bare code, or the whole redirect address
 * (`…/nativeclient?code=…&state=…`) or its query string. An error answer in it (`error=…`)
 * rejects with `ARCHIVE_AUTH`.
 */
export function parseAuthorizationResponse(input: string): { readonly code: string; readonly state?: string } {
  const text = input.trim();
  if (text === '') throw new AppError('ARCHIVE_AUTH', 'no authorization code given');
  const queryStart = text.indexOf('?');
  const looksLikeQuery = queryStart >= 0 || /(^|&)(code|error)=/.test(text);
  if (!looksLikeQuery) return { code: text };
  const params = new URLSearchParams(queryStart >= 0 ? text.slice(queryStart + 1).split('#')[0] : text);
  const error = params.get('error');
  if (error !== null) {
    const description = firstLine(params.get('error_description') ?? '');
    throw new AppError('ARCHIVE_AUTH', `consent was not granted: ${error}${description ? ` (${description})` : ''}`);
  }
  const code = params.get('code');
  if (code === null || code === '') throw new AppError('ARCHIVE_AUTH', 'no "code" parameter in the pasted address');
  const state = params.get('state');
  return state === null ? { code } : { code, state };
}

/** Options of {@link OneDriveAuth}. */
export interface OneDriveAuthOptions {
  readonly cloud: OneDriveCloud;
  /** @default "common" */
  readonly tenant?: string;
  readonly clientId: string;
  /** For a confidential app registration; sent as `client_secret`, never logged. */
  readonly clientSecret?: string;
  /** Must equal the one in the consent URL. @default the cloud's native-client URI */
  readonly redirectUri?: string;
  /** The configured drive id; selects the scopes. */
  readonly driveId?: string;
  /** Where the (rotating) refresh token lives. */
  readonly store: RefreshTokenStore;
  readonly baseUrls?: OneDriveBaseUrls;
  /** HTTP connection pool. @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher;
  /** Clock in ms. @default Date.now */
  readonly now?: () => number;
}

/** An access token is used until this long before it expires. */
const EXPIRY_MARGIN_MS = 60_000;
/** Token endpoint errors that need an admin (new consent, fixed registration), not a retry. */
const RETRIABLE_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

interface TokenResponse {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly expiresInSeconds: number;
}

/**
 * OAuth 2.0 authorization code flow against the Microsoft identity platform for one OneDrive
 * target: redeems the admin's code, keeps the refresh token in the store (rotating it on every
 * refresh) and hands out access tokens, cached until 60 s before they expire. Concurrent callers
 * share one refresh. Tokens never appear in errors or logs.
 */
export class OneDriveAuth implements OneDriveTokenSource {
  readonly #endpoints: OneDriveEndpoints;
  readonly #tenant: string;
  readonly #clientId: string;
  readonly #clientSecret: string | undefined;
  readonly #redirectUri: string;
  readonly #scope: string;
  readonly #store: RefreshTokenStore;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #now: () => number;
  #cached: { readonly token: string; readonly validUntil: number } | undefined;
  #refreshing: Promise<string> | undefined;

  constructor(options: OneDriveAuthOptions) {
    this.#endpoints = oneDriveEndpoints(options.cloud, options.baseUrls);
    this.#tenant = options.tenant ?? 'common';
    this.#clientId = options.clientId;
    this.#clientSecret = options.clientSecret;
    this.#redirectUri = options.redirectUri ?? nativeClientRedirectUri(this.#endpoints);
    this.#scope = oneDriveScopes(options.driveId);
    this.#store = options.store;
    this.#dispatcher = options.dispatcher;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Redeems an authorization code (`grant_type=authorization_code`) and stores the refresh token.
   * `codeVerifier` is required when the consent URL carried a PKCE challenge.
   */
  async redeemCode(code: string, options: { readonly codeVerifier?: string } = {}): Promise<void> {
    const form = this.#form({ grant_type: 'authorization_code', code, redirect_uri: this.#redirectUri });
    if (options.codeVerifier !== undefined) form.set('code_verifier', options.codeVerifier);
    const response = await this.#tokenRequest(form, 'redeem the authorization code');
    if (response.refreshToken === undefined) {
      throw new AppError('ARCHIVE_AUTH', 'the token endpoint returned no refresh token (was offline_access granted?)');
    }
    await this.#store.save(response.refreshToken);
    this.#remember(response);
  }

  async accessToken(options: { readonly forceRefresh?: boolean } = {}): Promise<string> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    const cached = this.#cached;
    if (options.forceRefresh !== true && cached !== undefined && this.#now() < cached.validUntil) return cached.token;
    this.#cached = undefined;
    const refreshing = this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    this.#refreshing = refreshing;
    return refreshing;
  }

  async #refresh(): Promise<string> {
    const refreshToken = await this.#store.load();
    if (refreshToken === undefined) {
      throw new AppError('ARCHIVE_AUTH', 'OneDrive is not authorized yet: run "callrec onedrive authorize"');
    }
    const response = await this.#tokenRequest(
      this.#form({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      'refresh the access token',
    );
    // The old refresh token must be discarded once a new one is issued (RFC 6749 §6).
    if (response.refreshToken !== undefined && response.refreshToken !== refreshToken) {
      await this.#store.save(response.refreshToken);
    }
    return this.#remember(response);
  }

  #remember(response: TokenResponse): string {
    this.#cached = {
      token: response.accessToken,
      validUntil: this.#now() + response.expiresInSeconds * 1000 - EXPIRY_MARGIN_MS,
    };
    return response.accessToken;
  }

  #form(fields: Record<string, string>): URLSearchParams {
    const form = new URLSearchParams({ client_id: this.#clientId, scope: this.#scope, ...fields });
    if (this.#clientSecret !== undefined) form.set('client_secret', this.#clientSecret);
    return form;
  }

  async #tokenRequest(form: URLSearchParams, what: string): Promise<TokenResponse> {
    const url = tokenEndpoint(this.#endpoints, this.#tenant);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        dispatcher: this.#dispatcher,
      });
    } catch (error) {
      throw new AppError('ARCHIVE_CONNECT', `cannot reach ${this.#endpoints.authority} to ${what}`, {
        cause: error,
        retriable: true,
      });
    }
    const text = await response.body.text().catch(() => '');
    const body = parseJsonObject(text);
    if (response.statusCode === 200) {
      const accessToken = body?.access_token;
      const expiresIn = Number(body?.expires_in ?? 3600);
      if (typeof accessToken !== 'string' || accessToken === '' || !Number.isFinite(expiresIn)) {
        throw new AppError('ARCHIVE_IO', `the token endpoint sent an unusable answer trying to ${what}`, {
          retriable: true,
        });
      }
      const refreshToken = typeof body?.refresh_token === 'string' ? body.refresh_token : undefined;
      return { accessToken, refreshToken, expiresInSeconds: expiresIn };
    }
    const oauthError = typeof body?.error === 'string' ? body.error : undefined;
    const description = typeof body?.error_description === 'string' ? firstLine(body.error_description) : '';
    const detail = `HTTP ${response.statusCode}${oauthError ? ` ${oauthError}` : ''}${description ? `: ${description}` : ''}`;
    const retriable =
      response.statusCode >= 500 ||
      response.statusCode === 429 ||
      (oauthError !== undefined && RETRIABLE_OAUTH_ERRORS.has(oauthError));
    if (retriable)
      throw new AppError('ARCHIVE_IO', `token endpoint failed to ${what} (${detail})`, { retriable: true });
    const hint = oauthError === 'invalid_grant' ? '; run "callrec onedrive authorize" again' : '';
    throw new AppError('ARCHIVE_AUTH', `token endpoint refused to ${what} (${detail})${hint}`);
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The first line of a server's description, bounded (AADSTS messages carry trace ids below). */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0]?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
