export type { AdminRequest, AdminResponse, AdminRoute } from './admin-route.js';
export {
  databaseCheck,
  keystoreCheck,
  sipListenersCheck,
  spoolCheck,
  uploadBacklogCheck,
  type HealthCheck,
  type HealthCheckResult,
  type KeystoreFacts,
  type ListenerEndpoint,
  type SpoolCheckOptions,
  type UploadBacklog,
  type UploadBacklogCheckOptions,
} from './health-checks.js';
export { AdminHttpServer, type AdminHttpOptions } from './http-server.js';
export {
  type AdminAuditEntry,
  type HealthSnapshot,
  type MetricsText,
  type RecordingAction,
  type RecordingControlOptions,
} from './standard-routes.js';
export {
  callOutcomeOf,
  countCoreEvent,
  observeCallsWithMetrics,
  recordingFactsOf,
  relayCountsOf,
} from './metric-feeds.js';
export { recordingStateCounts, startAdminEndpoint, type AdminEndpointOptions } from './admin-endpoint.js';
