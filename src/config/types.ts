/**
 * The callrec configuration as returned by `loadConfig`: validated against
 * `config/callrec.schema.json`, schema defaults filled in, relative paths resolved against the
 * config file's directory, deeply frozen. Hand-written to mirror the schema; keep both in step.
 * A key that has a schema default is required here; a key without one stays optional.
 */

/** A secret: a literal string, `{ env: NAME }` or `{ file: path }`. Resolve with `resolveSecret`. */
export type Secret = string | EnvSecret | FileSecret;

/** A secret read from an environment variable. */
export interface EnvSecret {
  readonly env: string;
}

/** A secret read from a file (trailing newline removed). */
export interface FileSecret {
  readonly file: string;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type SipTransportName = 'udp' | 'tcp' | 'tls';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export type KeySize = 2048 | 3072 | 4096;
export type PeerSideName = 'trunk' | 'pbx';
/** What happens to a request from an address that is neither trunk nor PBX. */
export type PeerRejectAction = '403' | 'drop';
export type ChannelMode = 'caller' | 'callee' | 'both-stereo' | 'both-separate';
export type LegalBasis = 'obligation' | 'consent' | 'opt-out';
export type RefusalAction = 'connect-unrecorded' | 'reject' | 'route';
export type RecordingFailurePolicy = 'continue' | 'reject';
export type TargetType = 'smb' | 'sftp' | 'onedrive' | 'local';
export type OneDriveCloud = 'global' | 'usgov' | 'usgov-dod' | 'china' | 'germany';

/** Installation-wide settings. */
export interface InstallationConfig {
  /** Absolute after loading. @default "./var" */
  readonly dataDir: string;
  readonly keystorePassword: Secret;
  /** @default 2048 */
  readonly keySize: KeySize;
  /** RFC 3161 TSA URL; each checksum file gets `<id>.sha256.tsr`. */
  readonly timestampUrl?: string;
  /** Free MiB that must remain on the spool's filesystem (`<dataDir>/recordings`); 0: no check. @default 1024 */
  readonly spoolReserveMegabytes: number;
}

export interface LogConfig {
  /** @default "info" */
  readonly level: LogLevel;
  /** Log numbers unmasked at INFO. @default false */
  readonly personalData: boolean;
}

/** One SIP listener. */
export interface SipListenConfig {
  readonly transport: SipTransportName;
  /** IPv4/IPv6 bind address, no brackets. */
  readonly host: string;
  readonly port: number;
  /** TLS only (required there): PEM certificate file, absolute after loading. */
  readonly certificate?: string;
  /** TLS only (required there): PEM private key file, absolute after loading. */
  readonly privateKey?: string;
  /** TLS only: passphrase of an encrypted private key. */
  readonly passphrase?: Secret;
}

export interface SipTlsConfig {
  /** PEM CA file, absolute after loading; default: the system trust store. */
  readonly ca?: string;
  /** @default "TLSv1.2" */
  readonly minVersion: TlsVersion;
  /** Verify servers callrec connects to. @default true */
  readonly verifyServer: boolean;
  /** Mutual TLS on listeners. @default false */
  readonly requestClientCertificate: boolean;
}

/** RFC 3261 base timers in milliseconds. */
export interface SipTimersConfig {
  /** @default 500 */
  readonly t1Ms: number;
  /** @default 4000 */
  readonly t2Ms: number;
  /** @default 5000 */
  readonly t4Ms: number;
}

/** Parser limits (same shape as `ParseLimits` in sip/message). */
export interface SipLimitsConfig {
  /** @default 65535 */
  readonly maxMessageBytes: number;
  /** @default 256 */
  readonly maxHeaders: number;
  /** @default 8192 */
  readonly maxLineLength: number;
}

export interface SipConfig {
  readonly listen: readonly SipListenConfig[];
  /** Host or address for Via/Contact behind NAT; default: the listen address. */
  readonly advertise?: string;
  readonly tls: SipTlsConfig;
  readonly timers: SipTimersConfig;
  readonly limits: SipLimitsConfig;
}

export interface MediaConfig {
  /** RTP bind address. @default "0.0.0.0" */
  readonly host: string;
  /** Address written into SDP behind NAT; default: the bind address. */
  readonly advertise?: string;
  /** First and last port, inclusive. @default [20000, 29999] */
  readonly portRange: readonly [number, number];
  /** 0 disables the media timeout. @default 60 */
  readonly timeoutSeconds: number;
  /** @default true */
  readonly strictSource: boolean;
  /** @default true */
  readonly recordableCodecsOnly: boolean;
}

/** Call handling between trunk and PBX. */
export interface B2buaConfig {
  /** @default 120 */
  readonly ringTimeoutSeconds: number;
  /** @default 2000 */
  readonly maxCalls: number;
  /** @default 100 */
  readonly maxInvitesPerSecondPerSource: number;
  /** @default 5 */
  readonly retryAfterSeconds: number;
  /** Extra header names copied between legs. @default [] */
  readonly carryHeaders: readonly string[];
  /** On SIGTERM: new calls get 503, running calls may go on this long, then BYE. @default 30 */
  readonly shutdownGraceSeconds: number;
}

/** The trunk or PBX side. */
export interface PeerConfig {
  /** IPv4/IPv6 addresses and CIDR networks (validated by the loader). */
  readonly addresses: readonly string[];
  /** sip:/sips: URI requests toward this side are sent to. */
  readonly uri: string;
  /** @default "403" */
  readonly onReject: PeerRejectAction;
}

export interface NumberingConfig {
  /** e.g. "49" */
  readonly countryCode: string;
  /** e.g. "30", without national prefix. */
  readonly areaCode?: string;
  /** @default "00" */
  readonly internationalPrefix: string;
  /** @default "0" */
  readonly nationalPrefix: string;
  /** E.164 main number. */
  readonly companyNumber?: string;
  /** Digits of an extension; default inferred from users. */
  readonly extensionLength?: number;
}

export interface UserConfig {
  readonly id: string;
  readonly name?: string;
  readonly extension?: string;
  /** E.164 direct numbers. @default [] */
  readonly numbers: readonly string[];
}

export interface GroupConfig {
  readonly id: string;
  readonly name?: string;
  /** E.164 group numbers. @default [] */
  readonly numbers: readonly string[];
  /** User ids (checked to exist). @default [] */
  readonly members: readonly string[];
}

export interface FeatureCodesConfig {
  /** @default "*51" */
  readonly groupLogout: string;
  /** @default "*52" */
  readonly groupLogin: string;
}

/** How the announcement reaches the caller before the callee is called. */
export type AnnouncementMode = 'early-media' | 'answer-first';

/** Announcement WAV files, absolute after loading. */
export interface AnnouncementConfig {
  readonly inbound?: string;
  readonly outbound?: string;
  /** @default "early-media" (absent in configs loaded before the key existed) */
  readonly mode?: AnnouncementMode;
}

/** DTMF codes of the recorded party that pause and resume its recording. */
export interface PauseConfig {
  readonly pauseCode: string;
  readonly resumeCode: string;
}

/** Consent settings; the digit/timeout/refusal keys only matter for `consent` and `opt-out`. */
export interface ConsentConfig {
  readonly legalBasis: LegalBasis;
  /** @default "1" */
  readonly acceptDigit: string;
  /** Required for opt-out. */
  readonly refuseDigit?: string;
  /** @default 10 */
  readonly timeoutSeconds: number;
  /** @default "connect-unrecorded" */
  readonly onRefusal: RefusalAction;
  /** Required when onRefusal is "route": a sip: URI or a number on the callee's side. */
  readonly routeTo?: string;
  /** SIP status for onRefusal "reject". @default 603 (absent in configs loaded before the key existed) */
  readonly rejectStatus?: number;
}

export interface ProfileConfig {
  readonly id: string;
  /** @default true */
  readonly enabled: boolean;
  /** Group ids (checked to exist). @default [] */
  readonly groups: readonly string[];
  /** User ids (checked to exist). @default [] */
  readonly users: readonly string[];
  /** @default true */
  readonly inbound: boolean;
  /** @default true */
  readonly outbound: boolean;
  /** @default false */
  readonly recordDirectCallsToActiveMembers: boolean;
  /** @default "both-stereo" */
  readonly channels: ChannelMode;
  /** @default {} */
  readonly announcement: AnnouncementConfig;
  readonly consent: ConsentConfig;
  /** Pause/resume by DTMF; off when absent. */
  readonly pause?: PauseConfig;
  /** @default true */
  readonly signing: boolean;
  /** Target ids (checked to exist). @default [] */
  readonly targets: readonly string[];
  /** Absent: kept until deleted manually. */
  readonly retentionDays?: number;
  /** Kept by law for `retentionDays`: erasure refused unless forced with a reason. @default false */
  readonly statutoryRetention: boolean;
  /** @default "continue" */
  readonly onRecordingFailure: RecordingFailurePolicy;
  /** Alarm email address. */
  readonly notify?: string;
}

export interface SmbTargetConfig {
  readonly id: string;
  readonly type: 'smb';
  readonly host: string;
  /** @default 445 */
  readonly port: number;
  /** Share name only, no folders. */
  readonly share: string;
  /** @default "" */
  readonly domain: string;
  readonly username: string;
  readonly password: Secret;
  /** Folder template ($Y $M $D $h $m $s). @default "" */
  readonly folder: string;
}

export interface SftpTargetConfig {
  readonly id: string;
  readonly type: 'sftp';
  readonly host: string;
  /** @default 22 */
  readonly port: number;
  readonly username: string;
  /** Required when privateKey is absent. */
  readonly password?: Secret;
  readonly privateKey?: Secret;
  readonly passphrase?: Secret;
  /**
   * The server's host key fingerprint as OpenSSH prints it (`ssh-keygen -lf`):
   * `SHA256:<43 base64 characters>`. When set, any other server key is refused (pinning).
   */
  readonly hostKey?: string;
  /** Folder template relative to the home directory. @default "" */
  readonly folder: string;
}

export interface OneDriveTargetConfig {
  readonly id: string;
  readonly type: 'onedrive';
  /** @default "global" */
  readonly cloud: OneDriveCloud;
  /** @default "common" */
  readonly tenant: string;
  readonly clientId: string;
  readonly clientSecret?: Secret;
  readonly redirectUri?: string;
  readonly driveId?: string;
  /** Folder template. @default "" */
  readonly folder: string;
}

export interface LocalTargetConfig {
  readonly id: string;
  readonly type: 'local';
  /**
   * Directory template, absolute after loading: the directories before the first segment with a
   * placeholder are the target's root, the rest its folder template (see `splitTemplatePath`).
   */
  readonly path: string;
}

export type TargetConfig = SmbTargetConfig | SftpTargetConfig | OneDriveTargetConfig | LocalTargetConfig;

export interface UploadsConfig {
  /** Queue poll interval and the first retry delay of a failed upload. @default 60 */
  readonly intervalSeconds: number;
  /** The retry delay doubles per failed attempt up to this cap (≥ intervalSeconds). @default 3600 */
  readonly maxBackoffSeconds: number;
  /** Uploads running at once per target. @default 2 */
  readonly concurrency: number;
  /** @default false */
  readonly keepLocal: boolean;
  /** IANA time zone the folder templates expand in (checked with Intl). Absent: the host's local zone. */
  readonly timezone?: string;
  /** http(s) URL that receives an "archived" event per recording (POST, JSON). */
  readonly webhook?: string;
}

export interface SmtpConfig {
  readonly host: string;
  /** @default 587 */
  readonly port: number;
  /** Implicit TLS. @default false */
  readonly secure: boolean;
  readonly username?: string;
  readonly password?: Secret;
}

export interface EmailConfig {
  readonly smtp: SmtpConfig;
  readonly from: string;
  /** @default false */
  readonly personalData: boolean;
  /** Failed-upload mails: the first at once, then at most one digest per this many minutes. @default 60 */
  readonly digestMinutes: number;
}

export interface AdminHttpConfig {
  /** @default "127.0.0.1" */
  readonly host: string;
  /** @default 9060 */
  readonly port: number;
  /** Bearer token every request must carry; required when `host` is not a loopback address. */
  readonly token?: Secret;
}

export interface AdminConfig {
  /** @default {} */
  readonly http: AdminHttpConfig;
}

/** The whole configuration file. */
export interface CallrecConfig {
  readonly $schema?: string;
  readonly installation: InstallationConfig;
  /** @default {} */
  readonly log: LogConfig;
  readonly sip: SipConfig;
  /** @default {} */
  readonly media: MediaConfig;
  readonly trunk: PeerConfig;
  readonly pbx: PeerConfig;
  /** @default {} */
  readonly b2bua: B2buaConfig;
  readonly numbering: NumberingConfig;
  /** @default [] */
  readonly users: readonly UserConfig[];
  /** @default [] */
  readonly groups: readonly GroupConfig[];
  /** @default {} */
  readonly featureCodes: FeatureCodesConfig;
  /** Evaluated in order. @default [] */
  readonly profiles: readonly ProfileConfig[];
  /** @default [] */
  readonly targets: readonly TargetConfig[];
  /** @default {} */
  readonly uploads: UploadsConfig;
  readonly email?: EmailConfig;
  /** @default {} */
  readonly admin: AdminConfig;
}
