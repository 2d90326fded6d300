import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Agent, type Dispatcher } from 'undici';
import { AppError } from '../../errors.js';
import type { RecordingSigner } from '../../integrity/index.js';
import { temporaryName, type ArchiveTarget } from './archive-target.js';
import { downloadTo } from './download-file.js';
import { OneDriveAuth, type OneDriveTokenSource } from './onedrive-auth.js';
import {
  checkName,
  oneDriveEndpoints,
  pathSegments,
  type OneDriveBaseUrls,
  type OneDriveCloud,
} from './onedrive-endpoints.js';
import {
  expectJson,
  failure,
  GraphHttp,
  graphErrorText,
  header,
  jsonCall,
  retryAfterMs,
  TRANSIENT_STATUSES,
} from './onedrive-http.js';
import { OneDriveTokenStore } from './onedrive-token-store.js';
import { driveItem, nextExpectedOffset, readAt, receive, type DriveItem } from './onedrive-transfer.js';

/** Upload fragments must be a multiple of 320 KiB (driveItem: createUploadSession). */
export const UPLOAD_FRAGMENT_UNIT = 327_680;
/** …and each request below 60 MiB. */
const MAX_FRAGMENT_BYTES = 60 * 1024 * 1024;

/** Options of {@link OneDriveTarget}. */
export interface OneDriveTargetOptions {
  /** The config id. */
  readonly id: string;
  readonly cloud: OneDriveCloud;
  /** A drive by id (`/drives/{id}`). @default the signed-in user's OneDrive (`/me/drive`) */
  readonly driveId?: string;
  /** Bearer tokens for Graph (usually a {@link OneDriveAuth}). */
  readonly tokens: OneDriveTokenSource;
  readonly baseUrls?: OneDriveBaseUrls;
  /** Bytes per upload request: a multiple of 327,680 below 60 MiB. @default 10,485,760 (32 × 320 KiB) */
  readonly chunkSize?: number;
  /** Attempts per request on throttling, server errors and network errors. @default 5 */
  readonly maxAttempts?: number;
  /** The longest Retry-After waited out in place; a longer one fails the call (retriable). @default 120000 */
  readonly maxRetryAfterMs?: number;
  /** Waits between attempts (tests record them). @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** HTTP connection pool. @default an own pool */
  readonly dispatcher?: Dispatcher;
  /** Whether `close()` closes the dispatcher. @default true when the target made it, else false */
  readonly ownsDispatcher?: boolean;
}

/**
 * Archive target on OneDrive / SharePoint through Microsoft Graph (SPEC §6). Uploads go through an
 * upload session to the temporary name (`conflictBehavior: replace`, so a leftover is replaced),
 * in fragments of N × 320 KiB, resuming from `nextExpectedRanges` after a failed fragment; then
 * the item is renamed over the final name. Read-back downloads `/content` (a 302 to a
 * pre-authenticated URL) and hashes the stream. 429/503 honour Retry-After; a 401 refreshes the
 * token once.
 */
export class OneDriveTarget implements ArchiveTarget {
  readonly id: string;
  readonly type = 'onedrive';
  readonly #drive: string;
  readonly #http: GraphHttp;
  readonly #chunkSize: number;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  #closed = false;

  constructor(options: OneDriveTargetOptions) {
    const chunkSize = options.chunkSize ?? 32 * UPLOAD_FRAGMENT_UNIT;
    if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize % UPLOAD_FRAGMENT_UNIT !== 0) {
      throw new AppError('ARCHIVE_CONFIG', `OneDrive chunk size ${chunkSize} is not a multiple of 327,680 bytes`);
    }
    if (chunkSize >= MAX_FRAGMENT_BYTES) throw new AppError('ARCHIVE_CONFIG', 'OneDrive chunks must stay below 60 MiB');
    const graph = oneDriveEndpoints(options.cloud, options.baseUrls).graph;
    this.id = options.id;
    this.#drive =
      options.driveId === undefined ? `${graph}/me/drive` : `${graph}/drives/${encodeURIComponent(options.driveId)}`;
    this.#chunkSize = chunkSize;
    this.#ownsDispatcher = options.ownsDispatcher ?? options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.#http = new GraphHttp({ ...options, dispatcher: this.#dispatcher });
  }

  async ensureFolder(folder: string): Promise<void> {
    const segments = pathSegments(folder);
    if (segments.length === 0) return;
    const existing = await this.#getItem(segments, 'look up folder');
    if (existing !== undefined) return this.#assertFolder(existing, segments);
    for (let depth = 1; depth <= segments.length; depth++) {
      const parent = segments.slice(0, depth - 1);
      const name = segments[depth - 1] as string;
      const what = `create folder ${segments.slice(0, depth).join('/')}`;
      const response = await this.#http.send(
        jsonCall('POST', this.#itemUrl(parent, 'children'), {
          name,
          folder: {},
          '@microsoft.graph.conflictBehavior': 'fail',
        }),
        what,
      );
      if (response.statusCode === 200 || response.statusCode === 201) {
        await response.body.dump();
      } else if (response.statusCode === 409) {
        await response.body.dump(); // nameAlreadyExists: made by an earlier run or a concurrent upload
        const item = await this.#getItem(segments.slice(0, depth), what);
        if (item === undefined) throw new AppError('ARCHIVE_IO', `${what}: 409, then 404`, { retriable: true });
        this.#assertFolder(item, segments.slice(0, depth));
      } else {
        throw await failure(response, what);
      }
    }
  }

  async upload(localPath: string, folder: string, name: string): Promise<void> {
    const segments = [...pathSegments(folder), checkName(name)];
    const temp = [...segments.slice(0, -1), temporaryName(name)];
    const what = `upload ${segments.join('/')}`;
    let handle: FileHandle;
    try {
      handle = await open(localPath, 'r');
    } catch (error) {
      throw new AppError('ARCHIVE_IO', `${what}: cannot open ${localPath}`, { cause: error });
    }
    let item: DriveItem;
    try {
      const { size } = await handle.stat();
      item = size === 0 ? await this.#putEmpty(temp, what) : await this.#uploadInSession(handle, size, temp, what);
    } finally {
      await handle.close();
    }
    await this.#rename(item.id, segments, what);
  }

  async sha256(folder: string, name: string): Promise<string | undefined> {
    const segments = [...pathSegments(folder), checkName(name)];
    const what = `read back ${segments.join('/')}`;
    const content = await this.#content(segments, what);
    if (content === undefined) return undefined;
    const hash = createHash('sha256');
    await receive(content, what, async (chunks) => {
      for await (const chunk of chunks) hash.update(chunk as Buffer);
    });
    return hash.digest('hex');
  }

  async download(folder: string, name: string, localPath: string): Promise<boolean> {
    const segments = [...pathSegments(folder), checkName(name)];
    const what = `download ${segments.join('/')}`;
    // The local file first: a local failure then never leaves a response body unread.
    return downloadTo(localPath, async (sink) => {
      const content = await this.#content(segments, what);
      if (content === undefined) return false;
      await receive(content, what, (chunks) => pipeline(chunks, sink, { end: false }), sink);
      return true;
    });
  }

  async size(folder: string, name: string): Promise<number | undefined> {
    const segments = [...pathSegments(folder), checkName(name)];
    const item = await this.#getItem(segments, `stat ${segments.join('/')}`);
    return item === undefined ? undefined : (item.size ?? 0);
  }

  async delete(folder: string, name: string): Promise<void> {
    const segments = [...pathSegments(folder), checkName(name)];
    await this.#deleteItem(segments, `delete ${segments.join('/')}`);
  }

  async list(folder: string): Promise<string[]> {
    const segments = pathSegments(folder);
    const what = `list ${segments.join('/') || '/'}`;
    const names: string[] = [];
    let url: string | undefined = `${this.#itemUrl(segments, 'children')}?$select=name&$top=200`;
    while (url !== undefined) {
      const response = await this.#http.send({ method: 'GET', url, auth: true }, what);
      if (response.statusCode === 404 && names.length === 0) {
        await response.body.dump();
        return [];
      }
      const page = await expectJson(response, [200], what);
      const value = Array.isArray(page.value) ? (page.value as unknown[]) : [];
      for (const child of value) {
        const childName = (child as { name?: unknown }).name;
        if (typeof childName === 'string') names.push(childName);
      }
      const next = page['@odata.nextLink'];
      url = typeof next === 'string' ? next : undefined;
    }
    return names;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#http.close();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Graph address of the item at `segments` (the drive root when empty), optionally `/{action}`. */
  #itemUrl(segments: readonly string[], action?: string): string {
    if (segments.length === 0) return `${this.#drive}/root${action === undefined ? '' : `/${action}`}`;
    const path = segments.map((segment) => encodeURIComponent(segment)).join('/');
    return `${this.#drive}/root:/${path}${action === undefined ? '' : `:/${action}`}`;
  }

  /**
   * The file's bytes: `/content` answers 302 with a pre-authenticated URL, which takes no
   * Authorization header. `undefined` when the file does not exist.
   */
  async #content(segments: readonly string[], what: string): Promise<Dispatcher.ResponseData['body'] | undefined> {
    const url = this.#itemUrl(segments, 'content');
    let response = await this.#http.send({ method: 'GET', url, auth: true }, what);
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode >= 300 && response.statusCode < 400) {
      const location = header(response.headers, 'location');
      await response.body.dump();
      if (location === undefined) throw new AppError('ARCHIVE_IO', `${what}: no Location`, { retriable: true });
      response = await this.#http.send({ method: 'GET', url: new URL(location, url).toString(), auth: false }, what);
    }
    if (response.statusCode !== 200) throw await failure(response, what);
    return response.body;
  }

  async #getItem(segments: readonly string[], what: string): Promise<DriveItem | undefined> {
    const response = await this.#http.send({ method: 'GET', url: this.#itemUrl(segments), auth: true }, what);
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    return driveItem(await expectJson(response, [200], what), what);
  }

  async #deleteItem(segments: readonly string[], what: string): Promise<void> {
    const response = await this.#http.send({ method: 'DELETE', url: this.#itemUrl(segments), auth: true }, what);
    await response.body.dump();
    if (response.statusCode !== 204 && response.statusCode !== 200 && response.statusCode !== 404) {
      throw await failure(response, what);
    }
  }

  #assertFolder(item: DriveItem, segments: readonly string[]): void {
    if (item.folder === undefined || item.folder === null) {
      throw new AppError('ARCHIVE_PATH', `${segments.join('/')} exists on the OneDrive but is not a folder`);
    }
  }

  /** A zero-byte file: upload sessions need at least one byte, so a simple PUT. */
  async #putEmpty(temp: readonly string[], what: string): Promise<DriveItem> {
    const url = `${this.#itemUrl(temp, 'content')}?@microsoft.graph.conflictBehavior=replace`;
    const headers = { 'content-type': 'application/octet-stream' };
    const response = await this.#http.send({ method: 'PUT', url, headers, body: Buffer.alloc(0), auth: true }, what);
    return driveItem(await expectJson(response, [200, 201], what), what);
  }

  /** Upload session to `temp`; a session that expired or vanished is started over once. */
  async #uploadInSession(handle: FileHandle, size: number, temp: readonly string[], what: string): Promise<DriveItem> {
    for (let session = 1; session <= 2; session++) {
      const created = await this.#http.send(
        jsonCall('POST', this.#itemUrl(temp, 'createUploadSession'), {
          item: { '@microsoft.graph.conflictBehavior': 'replace' },
        }),
        what,
      );
      const uploadUrl = (await expectJson(created, [200], what)).uploadUrl;
      if (typeof uploadUrl !== 'string') throw new AppError('ARCHIVE_IO', `${what}: no uploadUrl`, { retriable: true });
      const item = await this.#sendFragments(handle, size, uploadUrl, what);
      if (item !== undefined) return item;
    }
    throw new AppError('ARCHIVE_IO', `${what}: the upload session expired twice`, { retriable: true });
  }

  /**
   * PUTs the fragments in order, without the Authorization header (the upload URL carries its
   * own credentials). After a failed fragment the session's status names where to resume.
   * `undefined` when the session is gone (start a new one).
   */
  async #sendFragments(
    handle: FileHandle,
    size: number,
    uploadUrl: string,
    what: string,
  ): Promise<DriveItem | undefined> {
    let offset = 0;
    let failures = 0;
    for (;;) {
      const length = Math.min(this.#chunkSize, size - offset);
      const range = `bytes ${offset}-${offset + length - 1}/${size}`;
      const headers = { 'content-length': String(length), 'content-range': range };
      const body = await readAt(handle, offset, length);
      let problem: string;
      let wait: number | undefined;
      try {
        const response = await this.#http.request({ method: 'PUT', url: uploadUrl, headers, body, auth: false });
        const status = response.statusCode;
        if (status === 200 || status === 201) return driveItem(await expectJson(response, [status], what), what);
        if (status === 202) {
          offset = nextExpectedOffset(await expectJson(response, [202], what)) ?? offset + length;
          failures = 0;
          continue;
        }
        if (status === 404) {
          await response.body.dump();
          return undefined;
        }
        // 416: the service already has (part of) this range; anything else not transient is final.
        if (status !== 416 && !TRANSIENT_STATUSES.has(status)) throw await failure(response, what);
        wait = retryAfterMs(header(response.headers, 'retry-after'));
        problem = `HTTP ${status}${await graphErrorText(response)}`;
      } catch (error) {
        if (error instanceof AppError) throw error;
        problem = `connection failed: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (++failures >= this.#http.maxAttempts) {
        throw new AppError('ARCHIVE_IO', `${what}: fragment ${range} failed (${problem})`, { retriable: true });
      }
      await this.#http.pause(wait, failures, what);
      // Resume where the service says it is (createUploadSession: "Resuming an in-progress upload").
      const status = await this.#http.send({ method: 'GET', url: uploadUrl, auth: false }, what);
      if (status.statusCode === 404) {
        await status.body.dump();
        return undefined;
      }
      const resumeAt = nextExpectedOffset(await expectJson(status, [200], what));
      if (resumeAt === undefined || resumeAt >= size) return undefined;
      offset = resumeAt;
    }
  }

  /**
   * Renames the uploaded temporary over `segments`. `@microsoft.graph.conflictBehavior` goes in
   * the URL (driveItem resource notes); where the service still answers 409 (OneDrive personal
   * ignores it) the old final file is deleted and the rename repeated.
   */
  async #rename(itemId: string, segments: readonly string[], what: string): Promise<void> {
    const name = segments[segments.length - 1] as string;
    const url = `${this.#drive}/items/${encodeURIComponent(itemId)}?@microsoft.graph.conflictBehavior=replace`;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await this.#http.send(jsonCall('PATCH', url, { name }), what);
      if (response.statusCode === 200 || response.statusCode === 201) {
        await response.body.dump();
        return;
      }
      if (response.statusCode !== 409 || attempt === 2) throw await failure(response, `${what}: rename`);
      await response.body.dump();
      await this.#deleteItem(segments, `${what}: replace`);
    }
  }
}

/** Settings of a configured OneDrive target plus what the composition root supplies. */
export interface OneDriveTargetSettings {
  readonly id: string;
  readonly cloud: OneDriveCloud;
  /** @default "common" */
  readonly tenant?: string;
  readonly clientId: string;
  /** Resolved secret. */
  readonly clientSecret?: string;
  readonly redirectUri?: string;
  readonly driveId?: string;
  /** `installation.dataDir` (the encrypted refresh token lives there). */
  readonly dataDir: string;
  /** The installation key store. */
  readonly signer: Pick<RecordingSigner, 'sign'>;
  readonly baseUrls?: OneDriveBaseUrls;
}

/** A {@link OneDriveTarget} with its token store and OAuth client, sharing one connection pool. */
export function createOneDriveTarget(settings: OneDriveTargetSettings): OneDriveTarget {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  const store = new OneDriveTokenStore({ dataDir: settings.dataDir, targetId: settings.id, signer: settings.signer });
  const tokens = new OneDriveAuth({ ...settings, store, dispatcher });
  return new OneDriveTarget({ ...settings, tokens, dispatcher, ownsDispatcher: true });
}
