import { dirname } from 'node:path';
import { AnchoredMedia, B2bua, PeerTable } from '../b2bua/index.js';
import { PortAllocator } from '../media/index.js';
import { RecordingService } from './recording-service.js';
import { callFeaturesFor } from './call-features.js';
import { startArchive, type Archive } from './archive-wiring.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import type { FinalisedRecording } from '../pipeline/index.js';
import { recoverAtStart } from './recover-recordings.js';
import { resolveSecret, type CallrecConfig } from '../config/index.js';
import { listenerConfig, logCoreEvent } from './sip-listeners.js';
import { CallrecMetrics, type Logger } from '../observability/index.js';
import {
  countCoreEvent,
  observeCallsWithMetrics,
  recordingFactsOf,
  recordingStateCounts,
  relayCountsOf,
  startAdminEndpoint,
} from '../admin/index.js';
import { Ledger, ledgerDir, openKeyStore, Rfc3161TimestampClient, type KeyStore } from '../integrity/index.js';
import { Membership } from '../policy/index.js';
import {
  databasePath,
  openDatabase,
  schemaVersion,
  SqliteAuditLog,
  SqliteCallStore,
  SqliteLedgerStore,
  SqliteMembershipStore,
  SqliteRecordingStore,
} from '../store/index.js';
import { createCallRows } from './call-rows.js';
import { createRecordingPolicy } from './recording-policy.js';
import { startRecorderHealth } from './recorder-health.js';
import { certificateLogFields } from './commands/cert.js';
import { startServerRetention } from './commands/retention.js';
import {
  addressesElement,
  resolveTarget,
  SystemClock,
  TransportLayer,
  UserAgentCore,
  type Endpoint,
  type TransportProtocol,
} from '../sip/index.js';

/** What callrec implements today; the rest gets 501 (RFC 3261 §8.2.1). */
const IMPLEMENTED_METHODS = [
  'INVITE',
  'REGISTER',
  'ACK',
  'CANCEL',
  'BYE',
  'OPTIONS',
  'PRACK',
  'UPDATE',
  'INFO',
  'REFER',
  'NOTIFY',
  'MESSAGE',
];
const ACCEPTED_CONTENT_TYPES = ['application/sdp'];
/** Option tags relayed end to end (RFC 3262 reliable provisionals, RFC 4028 session timers). */
const SUPPORTED_EXTENSIONS = ['100rel', 'timer'];
const CHECKPOINT_INTERVAL_MS = 60 * 60 * 1000;
/** How quickly a membership change by another process (`callrec group logout`) is seen. */
const MEMBERSHIP_REFRESH_MS = 250;

export interface RunningServer {
  /** The installation's key: signs recordings (issue "Integrity"). */
  readonly keyStore: KeyStore;
  /** The chain of sealed recordings. */
  readonly ledger: Ledger;
  /** The bound listeners (ports resolved when the config asked for 0). */
  readonly listeners: readonly Endpoint[];
  readonly core: UserAgentCore;
  readonly b2bua: B2bua;
  readonly membership: Membership;
  /** Prometheus metrics (`/metrics`); others count through it, e.g. `metrics.alarm('spool-reserve')`. */
  readonly metrics: CallrecMetrics;
  /** Applies a reloaded config to new calls (recording policy, membership); running calls keep theirs. */
  reconfigure(config: CallrecConfig): void;
  /**
   * Stops: with `graceSeconds`, new calls get 503 while running calls may finish for that long;
   * then BYE on every leg, recordings finalised, listeners closed. Idempotent.
   */
  close(options?: { readonly graceSeconds?: number; readonly cutShort?: AbortSignal }): Promise<void>;
}

/** Observes every SIP message in and out (benchmarks measure added latency with it). */
export interface MessageTap {
  received(data: Buffer, source: Endpoint): void;
  sent(data: Buffer, destination: Endpoint): void;
}

export interface StartServerOptions {
  readonly tap?: MessageTap;
}

/**
 * Builds and starts the signalling path from a loaded config: transports, UA core, B2BUA. Holds
 * `<dataDir>/callrec.pid` until closed, so a second callrec on the same data directory is refused.
 */
export async function startServer(
  config: CallrecConfig,
  configPath: string,
  logger: Logger,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const lock = await acquireDataDirLock(config.installation.dataDir, 'run');
  try {
    return await startLocked(config, configPath, logger, options, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startLocked(
  config: CallrecConfig,
  configPath: string,
  logger: Logger,
  options: StartServerOptions,
  lock: DataDirLock,
): Promise<RunningServer> {
  const tap = options.tap;
  const metrics = new CallrecMetrics();
  // The keystore first: without the installation key nothing can be signed, so a wrong or
  // missing password stops the start before any call is accepted (nothing is overwritten).
  const password = await resolveSecret(config.installation.keystorePassword, dirname(configPath));
  const keyStore = await openKeyStore({
    dataDir: config.installation.dataDir,
    password,
    keySize: config.installation.keySize,
  });
  for (const warning of keyStore.warnings) logger.warn({ keystore: keyStore.path }, warning);
  logger.info(certificateLogFields(keyStore), 'verification certificate');
  // The protocol database and the recording chain; a signed checkpoint of the chain head at
  // start, hourly and at shutdown makes a deleted recording provable (SPEC §5).
  const database = await openDatabase(databasePath(config.installation.dataDir));
  const ledger = new Ledger({
    store: new SqliteLedgerStore(database),
    checkpointDir: ledgerDir(config.installation.dataDir),
  });
  const checkpoint = async (when: string): Promise<void> => {
    try {
      const written = await ledger.checkpoint(keyStore);
      logger.debug({ when, checkpoint: written }, 'ledger checkpoint');
    } catch (error) {
      logger.error({ when, err: error instanceof Error ? error.message : String(error) }, 'ledger checkpoint failed');
      metrics.failure('ledger-checkpoint');
    }
  };
  await checkpoint('start');
  const checkpointTimer = setInterval(() => void checkpoint('hourly'), CHECKPOINT_INTERVAL_MS);
  checkpointTimer.unref();
  const membership = await Membership.load(new SqliteMembershipStore(database), config);
  const membershipTimer = setInterval(() => {
    membership.refreshIfChanged().catch((error: unknown) => {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'membership refresh failed');
      metrics.failure('membership-refresh');
    });
  }, MEMBERSHIP_REFRESH_MS);
  membershipTimer.unref();
  // The spool's reserve decides whether `reject` profiles take calls (SPEC §4); alarms are logged and counted
  const recorderHealth = await startRecorderHealth(config, logger, (alarm) => metrics.alarm(alarm));
  let policy = createRecordingPolicy(config, membership, recorderHealth.health);
  let currentConfig = config;
  const archive: Archive = await startArchive({
    config: () => currentConfig,
    baseDir: dirname(configPath),
    database,
    signer: keyStore,
    logger,
  });
  // Crash recovery before any call is accepted (SPEC §9); recovered recordings are queued at once
  const onRecovered = (recording: FinalisedRecording): void => metrics.recordingRecovered(recordingFactsOf(recording));
  if (await recoverAtStart({ config, database, ledger, signer: keyStore, logger, archive, onRecovered }))
    await checkpoint('recovery');
  // Retention (SPEC §7): a run now and every 24 h; a failing run is logged, never fatal
  const retention = startServerRetention({
    database,
    targets: archive.targets,
    dataDir: config.installation.dataDir,
    signer: keyStore,
    logger,
  });
  const recorder = new RecordingService({
    config: () => currentConfig,
    policy: () => policy,
    signer: keyStore,
    ledger,
    ...(config.installation.timestampUrl === undefined
      ? {}
      : { timestamp: new Rfc3161TimestampClient({ url: config.installation.timestampUrl }) }),
    logger,
    catalogue: new SqliteRecordingStore(database),
    spool: recorderHealth.spool,
    onAlarm: recorderHealth.onAlarm,
    onFinalised: (recording) => {
      const metadata = recording.metadata;
      const profile = typeof metadata['profile'] === 'string' ? metadata['profile'] : undefined;
      const start = new Date(String(metadata['answer'] ?? metadata['start']));
      archive.archive(recording, profile, start);
      metrics.recordingFinished(recordingFactsOf(recording));
    },
  });
  recorderHealth.watch(() => recorder.problems());
  if (config.media.advertise === undefined && (config.media.host === '0.0.0.0' || config.media.host === '::'))
    logger.warn(
      { host: config.media.host },
      "media.advertise is not set: SDP will name the loopback address; set it to this host's address",
    );
  const ports = new PortAllocator({ host: config.media.host, portRange: config.media.portRange });
  const media = new AnchoredMedia({
    ports,
    address: config.media.advertise ?? advertisedMediaAddress(config.media.host),
    strictSource: config.media.strictSource,
    timeoutSeconds: config.media.timeoutSeconds,
    recordableCodecsOnly: config.media.recordableCodecsOnly,
    recorder,
    logger,
    onClosed: (_call, stats) => metrics.mediaClosed(relayCountsOf(stats)),
    features: callFeaturesFor(() => currentConfig),
  });
  const callRows = createCallRows(new SqliteCallStore(database), () => policy, logger);
  const peers = new PeerTable(config);
  const clock = new SystemClock();
  const timers = { t1Ms: config.sip.timers.t1Ms, t2Ms: config.sip.timers.t2Ms, t4Ms: config.sip.timers.t4Ms };
  // The core, the B2BUA and the transport layer refer to each other; wired once all exist.
  const wiring: { transports?: TransportLayer; core?: UserAgentCore; b2bua?: B2bua } = {};
  const listenersByProtocol = new Map<TransportProtocol, Endpoint>();
  const localAddress = (protocol: TransportProtocol): { host: string; port: number } => {
    const listener =
      listenersByProtocol.get(protocol) ?? listenersByProtocol.get('udp') ?? [...listenersByProtocol.values()][0];
    if (listener === undefined) throw new Error('no SIP listener');
    const wildcard = listener.address === '0.0.0.0' || listener.address === '::';
    return { host: config.sip.advertise ?? (wildcard ? '127.0.0.1' : listener.address), port: listener.port };
  };
  const b2bua = new B2bua({
    peers,
    onNonPeer: config.trunk.onReject === 'drop' && config.pbx.onReject === 'drop' ? 'drop' : '403',
    capabilities: { allow: IMPLEMENTED_METHODS, accept: ACCEPTED_CONTENT_TYPES, supported: SUPPORTED_EXTENSIONS },
    logger,
    clock,
    timers,
    ringTimeoutSeconds: config.b2bua.ringTimeoutSeconds,
    maxCalls: config.b2bua.maxCalls,
    maxInvitesPerSecondPerSource: config.b2bua.maxInvitesPerSecondPerSource,
    retryAfterSeconds: config.b2bua.retryAfterSeconds,
    carryHeaders: config.b2bua.carryHeaders,
    personalData: config.log.personalData,
    policy,
    calls: observeCallsWithMetrics(callRows, metrics),
    media,
    signalling: {
      sendRequest: (request, destination, user) =>
        (wiring.core as UserAgentCore).sendRequest(request, destination, user),
      sendStateless: (message, destination) => (wiring.core as UserAgentCore).sendStateless(message, destination),
      resolve: async (uri) => {
        const [first] = await resolveTarget(uri);
        if (first === undefined) throw new Error(`no address for ${uri.host}`);
        return first;
      },
      localAddress,
    },
  });
  wiring.b2bua = b2bua;
  const core = new UserAgentCore({
    send: (data, destination) => {
      if (wiring.transports === undefined) return Promise.reject(new Error('transport layer not ready'));
      tap?.sent(data, destination);
      metrics.sipSent();
      return wiring.transports.send(data, destination);
    },
    clock,
    timers,
    limits: config.sip.limits,
    checks: {
      implementedMethods: IMPLEMENTED_METHODS,
      supportedExtensions: SUPPORTED_EXTENSIONS,
      acceptedContentTypes: ACCEPTED_CONTENT_TYPES,
      isLocal: addressesElement,
    },
    screenSource: (source) => b2bua.screenSource(source),
    onRequest: (incoming) => b2bua.handleRequest(incoming),
    onAck: (ack) => b2bua.handleAck(ack),
    onCancel: (invite) => b2bua.handleCancel(invite),
    onEvent: (event) => {
      logCoreEvent(logger, event);
      countCoreEvent(metrics, event);
    },
  });
  wiring.core = core;
  const baseDir = dirname(configPath);
  const listeners = await Promise.all(config.sip.listen.map((listen) => listenerConfig(listen, config, baseDir)));
  const transports = await TransportLayer.create({
    listeners,
    onData: (inbound) => {
      tap?.received(inbound.data, inbound.source);
      metrics.sipReceived();
      core.receive(inbound);
    },
    onError: (error, source) => logger.debug({ source: source?.address, err: error.message }, 'transport error'),
  });
  wiring.transports = transports;
  const bound = transports.listeners.map((t) => t.local);
  for (const endpoint of bound) {
    if (!listenersByProtocol.has(endpoint.protocol)) listenersByProtocol.set(endpoint.protocol, endpoint);
    logger.info({ transport: endpoint.protocol, host: endpoint.address, port: endpoint.port }, 'listening');
  }
  logger.info(
    { trunk: config.trunk.addresses, trunkUri: config.trunk.uri, pbx: config.pbx.addresses, pbxUri: config.pbx.uri },
    'peers configured',
  );
  const catalogue = new SqliteRecordingStore(database);
  const auditLog = new SqliteAuditLog(database);
  metrics.setSources({
    activeCalls: () => b2bua.callCount,
    recordingStates: () => recordingStateCounts(catalogue),
    uploadQueue: () => archive.queue.status(),
  });
  const admin = await startAdminEndpoint({
    config: config.admin.http,
    baseDir: dirname(configPath),
    dataDir: config.installation.dataDir,
    spoolMinFreeBytes: config.installation.spoolReserveMegabytes * 1024 * 1024,
    metrics,
    health: () => ({
      calls: b2bua.callCount,
      dialogs: b2bua.dialogCount,
      transactions: core.transactionCount,
      registrations: b2bua.registrationCount,
    }),
    listeners: () => bound,
    probeDatabase: () => schemaVersion(database),
    keystore: () => ({ loaded: true, notAfter: keyStore.describe().notAfter }),
    uploads: () => archive.queue.status(),
    recordingControl: {
      control: (callId, action) => (b2bua.controlRecording(callId, action) ? 'found' : 'not-found'),
      audit: async (entry) => void (await auditLog.append(entry)),
    },
    logger,
  });
  logger.info({ host: config.admin.http.host, port: admin.port }, 'admin http listening');
  let closed = false;
  return {
    keyStore,
    ledger,
    listeners: bound,
    core,
    b2bua,
    membership,
    metrics,
    reconfigure: (next) => {
      currentConfig = next;
      membership.reconfigure(next);
      policy = createRecordingPolicy(next, membership, recorderHealth.health);
      b2bua.setPolicy(policy);
    },
    close: async (options = {}) => {
      if (closed) return;
      closed = true;
      const graceMs = (options.graceSeconds ?? 0) * 1000;
      if (graceMs > 0 && b2bua.callCount > 0) {
        b2bua.drain();
        logger.info({ calls: b2bua.callCount, graceSeconds: options.graceSeconds }, 'draining: new calls get 503');
        const deadline = Date.now() + graceMs;
        while (b2bua.callCount > 0 && Date.now() < deadline && options.cutShort?.aborted !== true)
          await new Promise((resolve) => setTimeout(resolve, 100));
        if (b2bua.callCount > 0) logger.warn({ calls: b2bua.callCount }, 'grace period over: hanging up');
      }
      b2bua.drain();
      clearInterval(membershipTimer);
      b2bua.hangUpAll('shutdown');
      // Let the BYEs leave before the sockets close
      await new Promise((resolve) => setTimeout(resolve, 200));
      core.close();
      await Promise.all([transports.close(), admin.close()]);
      clearInterval(checkpointTimer);
      await retention.stop();
      await recorder.flush();
      recorderHealth.close();
      await archive.close();
      await checkpoint('shutdown');
      await callRows.flush();
      await database.close();
      await lock.release();
    },
  };
}

/** The media address written into SDP when `media.advertise` is not set. */
function advertisedMediaAddress(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}
