import { join } from 'node:path';
import { resolveSecret, type AdminHttpConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { RecordingState, RecordingStore } from '../store/index.js';
import type { AdminRoute } from './admin-route.js';
import {
  databaseCheck,
  keystoreCheck,
  sipListenersCheck,
  spoolCheck,
  uploadBacklogCheck,
  type KeystoreFacts,
  type ListenerEndpoint,
  type UploadBacklog,
} from './health-checks.js';
import { AdminHttpServer } from './http-server.js';
import type { HealthSnapshot, MetricsText, RecordingControlOptions } from './standard-routes.js';

/** An upload still not done after this long fails `/healthz` by default. */
const UPLOAD_MAX_AGE_SECONDS = 3600;

/** What the composition root hands the admin endpoint: its config and a probe per `/healthz` check. */
export interface AdminEndpointOptions {
  /** `admin.http`; a `{ file }` token resolves against `baseDir`. */
  readonly config: AdminHttpConfig;
  readonly baseDir: string;
  /** `installation.dataDir`: the spool is `<dataDir>/recordings`. */
  readonly dataDir: string;
  /** Fewer free bytes on the spool fail `/healthz` (the spool reserve). */
  readonly spoolMinFreeBytes: number;
  /** @default 3600 */
  readonly uploadMaxAgeSeconds?: number;
  readonly metrics: MetricsText;
  readonly health: () => HealthSnapshot;
  readonly listeners: () => readonly ListenerEndpoint[];
  /** A cheap database query. */
  readonly probeDatabase: () => Promise<unknown>;
  readonly keystore: () => KeystoreFacts;
  readonly uploads: () => Promise<readonly UploadBacklog[]>;
  /** Enables the recording pause/resume routes. */
  readonly recordingControl?: RecordingControlOptions;
  readonly routes?: readonly AdminRoute[];
  readonly logger: Logger;
}

/**
 * Resolves the token and starts the admin endpoint with the standard `/healthz` checks (sip,
 * database, keystore, spool, uploads). Rejects when the token cannot be resolved, when it is
 * missing for a non-loopback host, or when the port cannot be bound.
 */
export async function startAdminEndpoint(options: AdminEndpointOptions): Promise<AdminHttpServer> {
  const { config, logger } = options;
  const token = config.token === undefined ? undefined : await resolveSecret(config.token, options.baseDir);
  return AdminHttpServer.start({
    host: config.host,
    port: config.port,
    ...(token === undefined ? {} : { token }),
    health: options.health,
    checks: {
      sip: sipListenersCheck(options.listeners),
      database: databaseCheck(options.probeDatabase),
      keystore: keystoreCheck(options.keystore),
      spool: spoolCheck({
        dir: join(options.dataDir, 'recordings'),
        fallback: options.dataDir,
        minFreeBytes: options.spoolMinFreeBytes,
      }),
      uploads: uploadBacklogCheck(options.uploads, {
        maxAgeSeconds: options.uploadMaxAgeSeconds ?? UPLOAD_MAX_AGE_SECONDS,
      }),
    },
    metrics: options.metrics,
    ...(options.recordingControl === undefined ? {} : { recordingControl: options.recordingControl }),
    ...(options.routes === undefined ? {} : { routes: options.routes }),
    onError: (error, request) =>
      logger.error(
        { method: request.method, path: request.path, err: error instanceof Error ? error.message : String(error) },
        'admin http request failed',
      ),
  });
}

/** States of recordings not yet at rest; archived and deleted ones grow without bound and are not counted. */
const LIVE_STATES: readonly RecordingState[] = ['recording', 'finalizing', 'spooled'];

/** Recordings per live state from the catalogue, every live state present (0 when none). */
export async function recordingStateCounts(catalogue: Pick<RecordingStore, 'list'>): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(LIVE_STATES.map((state) => [state, 0]));
  for (const recording of await catalogue.list({ states: LIVE_STATES })) {
    counts[recording.state] = (counts[recording.state] ?? 0) + 1;
  }
  return counts;
}
