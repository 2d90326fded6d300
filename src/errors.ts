/** Stable error codes for expected failures; plain `Error` stays for programming bugs. */
export type ErrorCode =
  | 'SIP_PARSE_START_LINE'
  | 'SIP_PARSE_HEADER'
  | 'SIP_PARSE_URI'
  | 'SIP_PARSE_MISSING_HEADER'
  | 'SIP_PARSE_LIMIT'
  | 'SIP_PARSE_BODY'
  | 'SIP_PARSE_VERSION'
  | 'SIP_TRANSPORT_ERROR'
  | 'SIP_TRANSPORT_CLOSED'
  | 'SIP_TX_TIMEOUT'
  | 'SIP_DIALOG_STATE'
  | 'CONFIG_INVALID'
  | 'CONFIG_READ'
  | 'CONFIG_SECRET'
  | 'INTEGRITY_IO'
  | 'INTEGRITY_KEYSTORE_PASSWORD'
  | 'INTEGRITY_KEYSTORE_CORRUPT'
  | 'INTEGRITY_CERT_MISMATCH'
  | 'INTEGRITY_CERT_INVALID'
  | 'INTEGRITY_FILE_NAME'
  | 'INTEGRITY_ALREADY_SEALED'
  | 'INTEGRITY_TIMESTAMP'
  | 'STORE_OPEN'
  | 'STORE_MIGRATION'
  | 'STORE_QUERY'
  | 'STORE_CONFLICT'
  | 'STORE_CLOSED'
  | 'POLICY_MEMBERSHIP'
  | 'MEDIA_PORTS_EXHAUSTED'
  | 'MEDIA_SOCKET'
  | 'MEDIA_SDP'
  | 'MEDIA_CODEC'
  | 'RECORDING_IO'
  | 'RECORDING_FORMAT'
  | 'RECORDING_CLOSED'
  | 'ARCHIVE_CONFIG'
  | 'ARCHIVE_AUTH'
  | 'ARCHIVE_CONNECT'
  | 'ARCHIVE_IO'
  | 'ARCHIVE_VERIFY'
  | 'ARCHIVE_PATH'
  | 'NOTIFY_SEND'
  | 'PRIVACY_LEGAL_HOLD'
  | 'PRIVACY_DISPOSAL';

export interface AppErrorOptions {
  /** The underlying error, kept for logs and diagnostics. */
  readonly cause?: unknown;
  /** Whether repeating the same operation later may succeed. @default false */
  readonly retriable?: boolean;
}

/** An expected failure with a stable machine-readable code. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}
