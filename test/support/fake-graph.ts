/**
 * Local fake of the Microsoft identity platform token endpoint and the Graph drive API for the
 * OneDrive target: code redemption and rotating refresh; `/me/drive` and `/drives/{id}` items by
 * path; folder creation; paged children; upload sessions checking the fragment rules (Content-Range,
 * 320 KiB multiples but the last, < 60 MiB, no Authorization); PATCH rename; DELETE; `/content` →
 * 302. Records every request, injects faults, collects rule breaks in `violations`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FRAGMENT_UNIT = 327_680;
const MAX_FRAGMENT = 60 * 1024 * 1024;

export interface RecordedRequest {
  readonly method: string;
  /** Path as sent (still percent-encoded), without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly bodyLength: number;
  /** JSON bodies, parsed. */
  readonly json?: unknown;
  /** Form bodies (token endpoint), parsed. */
  readonly form?: URLSearchParams;
}

export interface FakeGraphOptions {
  /** Children per page before `@odata.nextLink`. @default 200 */
  readonly pageSize?: number;
  /** Behave like OneDrive personal: PATCH ignores `@microsoft.graph.conflictBehavior`. @default false */
  readonly patchIgnoresConflictBehavior?: boolean;
}

type Send = (status: number, payload?: unknown, headers?: Record<string, string>) => void;

/** A file or folder; `path` is drive-relative (`a/b/c`), `drive` is `me` or a drive id. */
type Item = { readonly id: string; drive: string; path: string; folder: boolean; content: Buffer };
/** An upload session: where the file goes, with which conflict behaviour, the bytes so far. */
type Session = { readonly drive: string; readonly path: string; readonly conflict: string; received: Buffer };

interface Fault {
  remaining: number;
  readonly status: number;
  readonly retryAfter?: string;
  /** Fragments: keep the bytes, then answer the error (the answer was lost). */
  readonly afterStore?: boolean;
  readonly match?: (request: RecordedRequest) => boolean;
}

/** The fake; `start()` listens on 127.0.0.1 with a free port. */
export class FakeGraph {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly #items = new Map<string, Item>();
  readonly #sessions = new Map<string, Session>();
  readonly #totals = new Map<string, number>();
  readonly #codes = new Map<string, string | undefined>();
  readonly #accessTokens = new Set<string>();
  readonly #refreshTokens = new Set<string>();
  readonly #fragmentFaults: Fault[] = [];
  readonly #graphFaults: Fault[] = [];
  readonly #tokenFaults: { remaining: number; status: number; error: string }[] = [];
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  #counter = 0;
  base = '';

  private constructor(private readonly options: FakeGraphOptions) {}

  static async start(options: FakeGraphOptions = {}): Promise<FakeGraph> {
    const fake = new FakeGraph(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.base = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** For `baseUrls`: the authority is the server root, Graph is `/v1.0`. */
  get baseUrls(): { authority: string; graph: string } {
    return { authority: this.base, graph: `${this.base}/v1.0` };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** An authorization code as the consent page would return it; with PKCE when `codeChallenge`. */
  issueCode(codeChallenge?: string): string {
    const code = `code-${++this.#counter}-${randomBytes(4).toString('hex')}`;
    this.#codes.set(code, codeChallenge);
    return code;
  }

  /** A live refresh token, as if redeemed earlier. */
  issueRefreshToken(): string {
    const token = `rt-${++this.#counter}-${randomBytes(6).toString('hex')}`;
    this.#refreshTokens.add(token);
    return token;
  }

  /** Access tokens handed out so far stop working (Graph answers 401). */
  expireAccessTokens(): void {
    this.#accessTokens.clear();
  }

  /** Refresh tokens stop working (invalid_grant). */
  revokeRefreshTokens(): void {
    this.#refreshTokens.clear();
  }

  /** The next `count` fragment PUTs answer `status` (after storing the bytes when `afterStore`). */
  failFragments(count: number, fault: Omit<Fault, 'remaining' | 'match'> = { status: 500 }): void {
    this.#fragmentFaults.push({ ...fault, remaining: count });
  }

  /** The next `count` Graph requests (matching `match`) answer `status` (429) with Retry-After. */
  throttle(count: number, fault: Partial<Omit<Fault, 'remaining'>> = {}): void {
    this.#graphFaults.push({ status: 429, retryAfter: '1', ...fault, remaining: count });
  }

  /** The next `count` token requests answer `status` with OAuth `error`. */
  failTokenRequests(count: number, status: number, error: string): void {
    this.#tokenFaults.push({ remaining: count, status, error });
  }

  /** File content at `path` (`a/b/c`), `undefined` when missing or a folder. */
  file(path: string, drive = 'me'): Buffer | undefined {
    const item = this.#items.get(`${drive}|${path}`);
    return item === undefined || item.folder ? undefined : item.content;
  }

  /** Whether `path` is a folder. */
  isFolder(path: string, drive = 'me'): boolean {
    return this.#items.get(`${drive}|${path}`)?.folder === true;
  }

  /** Names directly in `folder`. */
  names(folder: string, drive = 'me'): string[] {
    return this.#children(drive, folder).map((item) => baseName(item.path));
  }

  /** Seeds a file or folder (parents are created). */
  put(path: string, content: Buffer | 'folder', drive = 'me'): void {
    const segments = path.split('/');
    for (let i = 1; i < segments.length; i++) this.#store(drive, segments.slice(0, i).join('/'), true, Buffer.alloc(0));
    this.#store(drive, path, content === 'folder', content === 'folder' ? Buffer.alloc(0) : content);
  }

  #store(drive: string, path: string, folder: boolean, content: Buffer): Item {
    const existing = this.#items.get(`${drive}|${path}`);
    const item: Item = { id: existing?.id ?? `item-${++this.#counter}`, drive, path, folder, content };
    this.#items.set(`${drive}|${path}`, item);
    return item;
  }

  #children(drive: string, folder: string): Item[] {
    return [...this.#items.values()]
      .filter((item) => item.drive === drive && parentOf(item.path) === folder)
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  #json(item: Item): Record<string, unknown> {
    const facet = item.folder ? { folder: { childCount: this.#children(item.drive, item.path).length } } : { file: {} };
    return { id: item.id, name: baseName(item.path), size: item.content.length, ...facet };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.base);
    const type = req.headers['content-type'] ?? '';
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      bodyLength: body.length,
      ...(type.startsWith('application/json') && body.length > 0 ? { json: JSON.parse(String(body)) as unknown } : {}),
      ...(type.startsWith('application/x-www-form-urlencoded') ? { form: new URLSearchParams(body.toString()) } : {}),
    };
    this.requests.push(record);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
      const text = payload === undefined ? '' : JSON.stringify(payload);
      res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
      res.end(text);
    };
    if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url.pathname)) return this.#token(record, send);
    if (url.pathname.startsWith('/upload/')) return this.#fragment(record, body, url.pathname.slice(8), send);
    if (url.pathname.startsWith('/download/')) {
      const item = [...this.#items.values()].find((i) => i.id === url.pathname.slice(10));
      if (item === undefined) return send(404, graphError('itemNotFound'));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(item.content);
    }
    const fault = takeFault(this.#graphFaults, record);
    if (fault !== undefined) return send(fault.status, graphError('activityLimitReached'), retryHeader(fault));
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!this.#accessTokens.has(bearer ?? '')) return send(401, graphError('InvalidAuthenticationToken'));
    return this.#graph(record, body, url, send);
  }

  #token(request: RecordedRequest, send: Send): void {
    const form = request.form ?? new URLSearchParams();
    const fault = this.#tokenFaults.find((f) => f.remaining > 0);
    if (fault !== undefined) {
      fault.remaining--;
      return send(fault.status, { error: fault.error, error_description: `AADSTS00000: injected ${fault.error}` });
    }
    const invalid = (why: string): void => send(400, { error: 'invalid_grant', error_description: why });
    if (form.get('grant_type') === 'authorization_code') {
      const code = form.get('code') ?? '';
      if (!this.#codes.has(code)) return invalid('unknown code');
      const challenge = this.#codes.get(code);
      this.#codes.delete(code);
      const proof = createHash('sha256').update(form.get('code_verifier') ?? '');
      if (challenge !== undefined && proof.digest('base64url') !== challenge) return invalid('PKCE check failed');
    } else if (form.get('grant_type') === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      if (!this.#refreshTokens.delete(token)) return invalid('refresh token revoked or unknown');
    } else {
      return send(400, { error: 'unsupported_grant_type' });
    }
    const accessToken = `at-${++this.#counter}-${randomBytes(6).toString('hex')}`;
    this.#accessTokens.add(accessToken);
    send(200, {
      token_type: 'Bearer',
      scope: form.get('scope') ?? '',
      expires_in: 3600,
      access_token: accessToken,
      refresh_token: this.issueRefreshToken(),
    });
  }

  #fragment(request: RecordedRequest, body: Buffer, id: string, send: Send): void {
    const session = this.#sessions.get(id);
    if (request.headers.authorization !== undefined) {
      this.violations.push(`${request.method} upload URL with an Authorization header`);
      return send(401, graphError('unauthenticated'));
    }
    if (session === undefined) return send(404, graphError('itemNotFound'));
    const expected = (): unknown => ({
      expirationDateTime: inAnHour(),
      nextExpectedRanges: [`${session.received.length}-`],
    });
    if (request.method === 'GET') return send(200, expected());
    if (request.method === 'DELETE') return void (this.#sessions.delete(id), send(204));
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(request.headers['content-range'] ?? ''));
    if (range === null) return this.#reject(send, `Content-Range "${String(request.headers['content-range'])}"`);
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    const length = end - start + 1;
    if (Number(request.headers['content-length']) !== length || body.length !== length) {
      return this.#reject(send, `Content-Length ${String(request.headers['content-length'])} for ${length} bytes`);
    }
    if ((this.#totals.get(id) ?? total) !== total) return this.#reject(send, `total changed to ${total}`);
    if (length >= MAX_FRAGMENT) return this.#reject(send, `fragment of ${length} bytes (≥ 60 MiB)`);
    if (end + 1 < total && length % FRAGMENT_UNIT !== 0) return this.#reject(send, `fragment of ${length} bytes`);
    if (start !== session.received.length) return send(416, graphError('invalidRange'));
    const fault = takeFault(this.#fragmentFaults, request);
    if (fault !== undefined && fault.afterStore !== true)
      return send(fault.status, graphError('generalException'), retryHeader(fault));
    this.#totals.set(id, total);
    session.received = Buffer.concat([session.received, body]);
    if (fault !== undefined) return send(fault.status, graphError('generalException'), retryHeader(fault));
    if (session.received.length < total) return send(202, expected());
    this.#sessions.delete(id);
    const existing = this.#items.get(`${session.drive}|${session.path}`);
    if (existing !== undefined && session.conflict !== 'replace') return send(409, graphError('nameAlreadyExists'));
    send(201, this.#json(this.#store(session.drive, session.path, false, session.received)));
  }

  #reject(send: Send, what: string): void {
    this.violations.push(what);
    send(400, graphError('invalidRequest', what));
  }

  #graph(request: RecordedRequest, body: Buffer, url: URL, send: Send): void {
    const match = /^\/v1\.0\/(?:me\/drive|drives\/([^/]+))\/(.*)$/.exec(url.pathname);
    if (match === null) return send(400, graphError('invalidRequest', `unknown address ${url.pathname}`));
    const drive = match[1] === undefined ? 'me' : decodeURIComponent(match[1]);
    const rest = match[2] ?? '';
    const notFound = (): void => send(404, graphError('itemNotFound'));
    const body_ = (request.json ?? {}) as Record<string, unknown>;
    if (rest.startsWith('items/')) {
      const item = [...this.#items.values()].find(
        (i) => i.id === decodeURIComponent(rest.slice(6)) && i.drive === drive,
      );
      if (item === undefined) return notFound();
      if (request.method !== 'PATCH') return send(405, graphError('notSupported'));
      const target = `${parentOf(item.path) === '' ? '' : `${parentOf(item.path)}/`}${String(body_.name)}`;
      const clash = this.#items.get(`${drive}|${target}`);
      if (clash !== undefined && clash.id !== item.id) {
        const replace = request.query.get('@microsoft.graph.conflictBehavior') === 'replace';
        if (!replace || this.options.patchIgnoresConflictBehavior === true)
          return send(409, graphError('nameAlreadyExists'));
      }
      this.#items.delete(`${drive}|${item.path}`);
      item.path = target;
      this.#items.set(`${drive}|${target}`, item);
      return send(200, this.#json(item));
    }
    const address = parseAddress(rest);
    if (address === undefined) return send(400, graphError('invalidRequest', `unknown address ${url.pathname}`));
    const { path, action } = address;
    const item =
      path === ''
        ? ({ id: 'root', drive, path: '', folder: true, content: Buffer.alloc(0) } as Item)
        : this.#items.get(`${drive}|${path}`);
    const parentExists = (p: string): boolean => parentOf(p) === '' || this.isFolder(parentOf(p), drive);
    const key = `${request.method} ${action ?? ''}`;
    if (key === 'GET ') return item === undefined ? notFound() : send(200, this.#json(item));
    if (key === 'DELETE ') {
      if (item === undefined) return notFound();
      const gone = `${drive}|${path}`;
      for (const k of this.#items.keys()) if (k === gone || k.startsWith(`${gone}/`)) this.#items.delete(k);
      return send(204);
    }
    if (key === 'GET children') {
      if (item === undefined || !item.folder) return notFound();
      const all = this.#children(drive, path);
      const size = Math.min(this.options.pageSize ?? 200, Number(request.query.get('$top') ?? 200));
      const skip = Number(request.query.get('$skiptoken') ?? 0);
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String(skip + size));
      const value = all.slice(skip, skip + size).map((i) => this.#json(i));
      return send(200, { value, ...(skip + size < all.length ? { '@odata.nextLink': next.toString() } : {}) });
    }
    if (key === 'POST children') {
      if (item === undefined || !item.folder) return notFound();
      const childPath = path === '' ? String(body_.name) : `${path}/${String(body_.name)}`;
      if (this.#items.has(`${drive}|${childPath}`)) return send(409, graphError('nameAlreadyExists'));
      return send(201, this.#json(this.#store(drive, childPath, body_.folder !== undefined, Buffer.alloc(0))));
    }
    if (key === 'POST createUploadSession') {
      if (!parentExists(path)) return notFound();
      const conflict = String(
        (body_.item as Record<string, unknown> | undefined)?.['@microsoft.graph.conflictBehavior'] ?? 'fail',
      );
      const id = `session-${++this.#counter}`;
      this.#sessions.set(id, { drive, path, conflict, received: Buffer.alloc(0) });
      return send(200, {
        uploadUrl: `${this.base}/upload/${id}`,
        expirationDateTime: inAnHour(),
        nextExpectedRanges: ['0-'],
      });
    }
    if (key === 'PUT content') {
      if (!parentExists(path)) return notFound();
      return send(201, this.#json(this.#store(drive, path, false, body)));
    }
    if (key === 'GET content') {
      if (item === undefined || item.folder) return notFound();
      return send(302, undefined, { location: `${this.base}/download/${item.id}` });
    }
    send(400, graphError('invalidRequest', `unsupported ${key} on ${url.pathname}`));
  }
}

function takeFault(faults: Fault[], request: RecordedRequest): Fault | undefined {
  const fault = faults.find((f) => f.remaining > 0 && (f.match === undefined || f.match(request)));
  if (fault !== undefined) fault.remaining--;
  return fault;
}

function retryHeader(fault: Fault): Record<string, string> {
  return fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
}

function graphError(code: string, message = code): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `root`, `root/{action}`, `root:/{path}`, `root:/{path}:` or `root:/{path}:/{action}` (path decoded). */
function parseAddress(rest: string): { path: string; action: string | undefined } | undefined {
  if (rest === 'root' || rest.startsWith('root/'))
    return { path: '', action: rest === 'root' ? undefined : rest.slice(5) };
  if (!rest.startsWith('root:/')) return undefined;
  const remainder = rest.slice(6);
  const split = remainder.indexOf(':/');
  const raw = split < 0 ? remainder.replace(/:$/, '') : remainder.slice(0, split);
  return {
    path: raw.split('/').map(decodeURIComponent).join('/'),
    action: split < 0 ? undefined : remainder.slice(split + 2),
  };
}

function inAnHour(): string {
  return new Date(Date.now() + 3_600_000).toISOString();
}
