import type { AdminResponse, AdminRoute } from './admin-route.js';
import type { HealthCheck, HealthCheckResult } from './health-checks.js';

/** Counts of live state, for `/healthz` and leak checks. */
export interface HealthSnapshot {
  readonly calls: number;
  readonly dialogs: number;
  readonly transactions: number;
  readonly registrations: number;
}

/** What `GET /healthz` needs. */
export interface HealthRouteOptions {
  readonly snapshot: () => HealthSnapshot;
  /** Named checks; all must hold for HTTP 200. */
  readonly checks: Readonly<Record<string, HealthCheck>>;
  /** A check that takes longer fails. */
  readonly timeoutMs: number;
}

/**
 * `GET /healthz`: the live counts and every check's verdict. 200 with `status: "ok"` when all
 * hold, else 503 with `status: "failing"` and the names of the failing checks.
 */
export function healthRoute(options: HealthRouteOptions): AdminRoute {
  return {
    method: 'GET',
    path: /\/healthz/,
    handle: async () => {
      const names = Object.keys(options.checks);
      const results = await Promise.all(
        names.map((name) => runCheck(options.checks[name] ?? (() => ({ ok: true })), options.timeoutMs)),
      );
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      const failing = names.filter((_, i) => results[i]?.ok !== true);
      const body = {
        status: failing.length === 0 ? 'ok' : 'failing',
        ...options.snapshot(),
        checks,
        ...(failing.length === 0 ? {} : { failing }),
      };
      return { status: failing.length === 0 ? 200 : 503, body };
    },
  };
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<HealthCheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthCheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const run = (async () => check())();
    return await Promise.race([run, timeout]);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** The Prometheus exposition `GET /metrics` serves. */
export interface MetricsText {
  /** e.g. `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  text(): Promise<string>;
}

/** `GET /metrics`: the Prometheus text format. */
export function metricsRoute(metrics: MetricsText): AdminRoute {
  return {
    method: 'GET',
    path: /\/metrics/,
    handle: async () => ({ status: 200, body: await metrics.text(), contentType: metrics.contentType }),
  };
}

/** What can be done to a running call's recording over HTTP. */
export type RecordingAction = 'pause' | 'resume';

/** An audit log entry of an admin HTTP action (SPEC §7). */
export interface AdminAuditEntry {
  /** `http:<remote address>`. */
  readonly actor: string;
  /** `recording.pause` or `recording.resume`. */
  readonly action: string;
  /** `call:<call id>`. */
  readonly subject: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** What the recording control routes need. */
export interface RecordingControlOptions {
  /** Pauses or resumes the recording of a running call; `not-found` when no such recorded call runs. */
  readonly control: (callId: string, action: RecordingAction) => Promise<'found' | 'not-found'> | 'found' | 'not-found';
  /** Writes the audit entry; the request fails (500) when it cannot be written. */
  readonly audit: (entry: AdminAuditEntry) => Promise<void> | void;
}

const PAST: Readonly<Record<RecordingAction, string>> = { pause: 'paused', resume: 'resumed' };

/**
 * `POST /calls/<callId>/recording/pause` and `.../resume`: 200 when the call's recording was
 * paused or resumed, 404 when no such recorded call runs. Every request is audited, found or not.
 */
export function recordingControlRoutes(options: RecordingControlOptions): AdminRoute[] {
  return (['pause', 'resume'] as const).map((action) => ({
    method: 'POST',
    path: new RegExp(`/calls/([^/]{1,200})/recording/${action}`),
    handle: async (request): Promise<AdminResponse> => {
      const [callId = ''] = request.params;
      const audit = (result: string): Promise<void> | void =>
        options.audit({
          actor: request.actor,
          action: `recording.${action}`,
          subject: `call:${callId}`,
          details: { result },
        });
      let result: 'found' | 'not-found';
      try {
        result = await options.control(callId, action);
      } catch (error) {
        await audit('error');
        throw error;
      }
      await audit(result);
      return result === 'found'
        ? { status: 200, body: { call: callId, recording: PAST[action] } }
        : { status: 404, body: { error: `no recorded call ${callId} is running` } };
    },
  }));
}
