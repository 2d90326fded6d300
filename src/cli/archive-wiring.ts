import {
  createOneDriveTarget,
  LocalTarget,
  SftpTarget,
  SmbTarget,
  UploadNotifier,
  UploadQueue,
  type ArchiveTarget,
} from '../archive/index.js';
import { resolveSecret, splitTemplatePath, type CallrecConfig, type TargetConfig } from '../config/index.js';
import type { RecordingSigner } from '../integrity/index.js';
import type { Logger } from '../observability/index.js';
import type { FinalisedRecording } from '../pipeline/index.js';
import { SqliteUploadStore, type SqliteDatabase } from '../store/index.js';

export interface Archive {
  readonly queue: UploadQueue;
  /** Every configured target, built once (retention deletes through them). */
  readonly targets: readonly ArchiveTarget[];
  /** Hands a sealed recording to the upload queue for its profile's targets. */
  archive(recording: FinalisedRecording, profileId: string | undefined, start: Date): void;
  close(): Promise<void>;
}

/** Builds one target from its config; secrets resolved here, never logged. */
export async function buildTarget(
  target: TargetConfig,
  config: CallrecConfig,
  baseDir: string,
  signer: RecordingSigner,
): Promise<ArchiveTarget> {
  const secret = async (value: Parameters<typeof resolveSecret>[0] | undefined): Promise<string | undefined> =>
    value === undefined ? undefined : resolveSecret(value, baseDir);
  switch (target.type) {
    case 'local':
      return new LocalTarget({ id: target.id, root: splitTemplatePath(target.path).root });
    case 'smb':
      return new SmbTarget({
        id: target.id,
        host: target.host,
        port: target.port,
        share: target.share,
        domain: target.domain,
        username: target.username,
        password: (await secret(target.password)) ?? '',
      });
    case 'sftp': {
      const [password, privateKey, passphrase] = await Promise.all([
        secret(target.password),
        secret(target.privateKey),
        secret(target.passphrase),
      ]);
      return new SftpTarget({
        id: target.id,
        host: target.host,
        port: target.port,
        username: target.username,
        ...(password === undefined ? {} : { password }),
        ...(privateKey === undefined ? {} : { privateKey }),
        ...(passphrase === undefined ? {} : { passphrase }),
        ...(target.hostKey === undefined ? {} : { hostKey: target.hostKey }),
      });
    }
    case 'onedrive': {
      const clientSecret = await secret(target.clientSecret);
      return createOneDriveTarget({
        id: target.id,
        cloud: target.cloud,
        tenant: target.tenant,
        clientId: target.clientId,
        ...(clientSecret === undefined ? {} : { clientSecret }),
        ...(target.redirectUri === undefined ? {} : { redirectUri: target.redirectUri }),
        ...(target.driveId === undefined ? {} : { driveId: target.driveId }),
        dataDir: config.installation.dataDir,
        signer,
      });
    }
  }
}

/** The folder template a target's files go to (for local targets: the part of `path` after its root). */
function folderTemplate(target: TargetConfig): string {
  return target.type === 'local' ? splitTemplatePath(target.path).template : target.folder;
}

/**
 * The archive (SPEC §6): every configured target, the persistent upload queue and the failure
 * digest/webhook notifier, wired together. Targets are built once at start (a reload's target
 * changes need a restart); the profile's target list is read when a recording is handed over.
 */
export async function startArchive(options: {
  readonly config: () => CallrecConfig;
  readonly baseDir: string;
  readonly database: SqliteDatabase;
  readonly signer: RecordingSigner;
  readonly logger: Logger;
}): Promise<Archive> {
  const config = options.config();
  const targets = await Promise.all(
    config.targets.map((target) => buildTarget(target, config, options.baseDir, options.signer)),
  );
  const email = config.email;
  const smtpPassword =
    email?.smtp.password === undefined ? undefined : await resolveSecret(email.smtp.password, options.baseDir);
  const notifier = new UploadNotifier({
    logger: options.logger,
    ...(email === undefined
      ? {}
      : {
          email: {
            smtp: {
              host: email.smtp.host,
              port: email.smtp.port,
              secure: email.smtp.secure,
              ...(email.smtp.username === undefined ? {} : { username: email.smtp.username }),
              ...(smtpPassword === undefined ? {} : { password: smtpPassword }),
            },
            from: email.from,
            personalData: email.personalData,
            digestMinutes: email.digestMinutes,
          },
        }),
    ...(config.uploads.webhook === undefined ? {} : { webhook: { url: config.uploads.webhook } }),
  });
  const notifyOf = (profileId: string | undefined): string | undefined =>
    options.config().profiles.find((profile) => profile.id === profileId)?.notify;
  const queue = new UploadQueue({
    targets,
    store: new SqliteUploadStore(options.database),
    intervalSeconds: config.uploads.intervalSeconds,
    concurrency: config.uploads.concurrency,
    maxBackoffSeconds: config.uploads.maxBackoffSeconds,
    keepLocal: config.uploads.keepLocal,
    ...(config.uploads.timezone === undefined ? {} : { timeZone: config.uploads.timezone }),
    logger: options.logger,
    onAttemptFailed: (event) => {
      void notifier.attemptFailed({
        recordingId: event.recordingId,
        targetId: event.targetId,
        error: { code: event.error.code, message: event.error.message },
        attempts: event.attempts,
        nextAttemptAt: event.nextAttemptAt,
        profileId: event.profileId ?? '',
        notify: notifyOf(event.profileId),
        start: event.start,
      });
    },
    onRecovered: (targetId) => void notifier.recovered({ targetId }),
    onArchived: (event) =>
      void notifier.archived({
        recordingId: event.recordingId,
        profileId: event.profileId ?? '',
        targets: event.targets,
        start: event.start,
      }),
  });
  await queue.start();
  return {
    queue,
    targets,
    archive: (recording, profileId, start) => {
      const profile = options.config().profiles.find((candidate) => candidate.id === profileId);
      const configured = options.config().targets;
      const wanted = (profile?.targets ?? []).flatMap((id) => {
        const target = configured.find((candidate) => candidate.id === id);
        return target === undefined ? [] : [{ targetId: id, folder: folderTemplate(target) }];
      });
      if (wanted.length === 0) return;
      queue
        .enqueue({
          id: recording.id,
          dir: recording.dir,
          start,
          ...(profileId === undefined ? {} : { profile: profileId }),
          targets: wanted,
        })
        .catch((error: unknown) =>
          options.logger.error(
            { recordingId: recording.id, err: error instanceof Error ? error.message : String(error) },
            'could not queue the recording for upload; it stays in the spool',
          ),
        );
    },
    close: async () => {
      await queue.stop();
      await notifier.close();
      await Promise.all(targets.map((target) => target.close().catch(() => undefined)));
    },
  };
}
