import { statfs } from 'node:fs/promises';

/** The verdict of one `/healthz` check, with what an operator needs to see why. */
export interface HealthCheckResult {
  readonly ok: boolean;
  /** Why it failed (or a note when it holds), one line. */
  readonly detail?: string;
  readonly [field: string]: unknown;
}

/** One check of `/healthz`; a rejection or a timeout counts as failed. */
export type HealthCheck = () => Promise<HealthCheckResult> | HealthCheckResult;

/** A bound SIP listener. */
export interface ListenerEndpoint {
  readonly protocol: string;
  readonly address: string;
  readonly port: number;
}

/** Holds while at least one SIP listener is bound; lists them. */
export function sipListenersCheck(listeners: () => readonly ListenerEndpoint[]): HealthCheck {
  return () => {
    const bound = listeners().map((l) => ({ transport: l.protocol, host: l.address, port: l.port }));
    return bound.length > 0
      ? { ok: true, listeners: bound }
      : { ok: false, detail: 'no SIP listener bound', listeners: [] };
  };
}

/** Holds when `probe` (a cheap query) resolves. */
export function databaseCheck(probe: () => Promise<unknown>): HealthCheck {
  return async () => {
    const started = performance.now();
    await probe();
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  };
}

/** What the keystore check needs to know of the installation key. */
export interface KeystoreFacts {
  readonly loaded: boolean;
  /** ISO 8601 end of validity of the verification certificate. */
  readonly notAfter: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Holds while the keystore is loaded and its certificate has not expired. */
export function keystoreCheck(facts: () => KeystoreFacts, now: () => Date = () => new Date()): HealthCheck {
  return () => {
    const { loaded, notAfter } = facts();
    const expires = Date.parse(notAfter);
    if (!loaded) return { ok: false, detail: 'keystore not loaded' };
    if (Number.isNaN(expires)) return { ok: false, detail: `certificate end of validity unreadable: ${notAfter}` };
    const daysLeft = Math.floor((expires - now().getTime()) / DAY_MS);
    if (expires <= now().getTime()) return { ok: false, detail: `certificate expired at ${notAfter}`, notAfter };
    return { ok: true, notAfter, daysLeft };
  };
}

/** Options of {@link spoolCheck}. */
export interface SpoolCheckOptions {
  /** The spool folder, `<dataDir>/recordings`; `fallback` is asked when it does not exist yet. */
  readonly dir: string;
  /** `installation.dataDir`. */
  readonly fallback: string;
  /** Below this many free bytes the check fails. */
  readonly minFreeBytes: number;
}

/** Holds while the spool's file system has at least `minFreeBytes` available to callrec. */
export function spoolCheck(options: SpoolCheckOptions): HealthCheck {
  return async () => {
    const stats = await statfs(options.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return statfs(options.fallback);
      throw error;
    });
    // bavail: blocks available to unprivileged users — what the callrec user can actually write
    const freeBytes = stats.bavail * stats.bsize;
    const totalBytes = stats.blocks * stats.bsize;
    const fields = { freeBytes, totalBytes, minFreeBytes: options.minFreeBytes };
    return freeBytes >= options.minFreeBytes
      ? { ok: true, ...fields }
      : { ok: false, detail: `only ${freeBytes} bytes free on the spool (minimum ${options.minFreeBytes})`, ...fields };
  };
}

/** Uploads of one target not yet done (the shape of `UploadQueue.status()` entries). */
export interface UploadBacklog {
  readonly targetId: string;
  readonly pending: number;
  readonly uploading: number;
  readonly failed: number;
  /** ISO 8601: when the oldest upload not yet done was queued; `null` when all are done. */
  readonly oldestPendingSince: string | null;
}

/** Options of {@link uploadBacklogCheck}. */
export interface UploadBacklogCheckOptions {
  /** An upload older than this that is still not done fails the check. */
  readonly maxAgeSeconds: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Holds while no target has an upload waiting longer than `maxAgeSeconds`. Errors are left to
 * `callrec uploads status` (they may name servers and folders).
 */
export function uploadBacklogCheck(
  status: () => Promise<readonly UploadBacklog[]>,
  options: UploadBacklogCheckOptions,
): HealthCheck {
  const now = options.now ?? (() => new Date());
  return async () => {
    const targets = (await status()).map((target) => {
      const since = target.oldestPendingSince === null ? Number.NaN : Date.parse(target.oldestPendingSince);
      const oldestSeconds = Number.isNaN(since) ? 0 : Math.max(0, Math.round((now().getTime() - since) / 1000));
      return {
        target: target.targetId,
        pending: target.pending,
        uploading: target.uploading,
        failed: target.failed,
        oldestPendingSeconds: oldestSeconds,
      };
    });
    const late = targets.filter((target) => target.oldestPendingSeconds > options.maxAgeSeconds);
    const backlog = targets.reduce((sum, t) => sum + t.pending + t.uploading + t.failed, 0);
    if (late.length === 0) return { ok: true, backlog, targets };
    const names = late.map((target) => target.target).join(', ');
    return {
      ok: false,
      detail: `uploads waiting longer than ${options.maxAgeSeconds} s on ${names}`,
      backlog,
      targets,
    };
  };
}
