export { createLogger, maskNumber, type Logger, type LoggerOptions } from './logger.js';
export {
  CALL_OUTCOMES,
  CallrecMetrics,
  type CallOutcome,
  type CallParty,
  type CallrecMetricsOptions,
  type CallRtpCounts,
  type MetricSources,
  type UploadQueueCounts,
} from './metrics.js';
