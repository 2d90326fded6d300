import { dirname, resolve } from 'node:path';
import { loadConfig, resolveSecret } from '../../config/index.js';
import { Ledger, ledgerDir, openKeyStore } from '../../integrity/index.js';
import { createLogger } from '../../observability/index.js';
import {
  databasePath,
  openDatabase,
  SqliteAuditLog,
  SqliteCallStore,
  SqliteLedgerStore,
  SqliteRecordingStore,
  SqliteUploadStore,
} from '../../store/index.js';
import { acquireDataDirLock, DataDirLockedError } from '../data-dir-lock.js';
import { recoverRecordings, uploadRequestFor } from '../recover-recordings.js';
import { cliActor, type AdminCommandOutput } from './group.js';

/** Options of {@link runRecoverCommand}. */
export interface RecoverCommandOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
}

/**
 * `callrec recover` (SPEC §9, §11): the crash recovery `callrec run` does at start, without SIP —
 * every recording left `recording`/`finalizing` is repaired, sealed, marked spooled and queued for
 * upload (the uploads run when the server runs next). Refuses while a callrec holds the data
 * directory (`<dataDir>/callrec.pid`). Prints one line per recording and a summary.
 * Exit 0 all recovered (or nothing to do), 1 any recording failed or the data directory is in use,
 * 2 invalid config, keystore or database not usable.
 */
export async function runRecoverCommand(options: RecoverCommandOptions): Promise<number> {
  const { out } = options;
  const loaded = await loadConfig(options.configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) out.error(`${error.path === '' ? '/' : error.path}: ${error.message}`);
    out.error(`callrec recover: invalid config ${options.configPath}`);
    return 2;
  }
  const config = loaded.config;
  const dataDir = config.installation.dataDir;
  let lock;
  try {
    lock = await acquireDataDirLock(dataDir, 'recover');
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    out.error(`callrec recover: ${error.message}; a running server recovers at its start`);
    return 1;
  }
  try {
    let password: string;
    try {
      password = await resolveSecret(config.installation.keystorePassword, dirname(resolve(options.configPath)));
    } catch (error) {
      out.error(`callrec recover: /installation/keystorePassword: ${messageOf(error)}`);
      return 2;
    }
    const keyStore = await openKeyStore({ dataDir, password, keySize: config.installation.keySize }).catch(
      (error: unknown) => {
        out.error(`callrec recover: keystore: ${messageOf(error)}`);
        return undefined;
      },
    );
    if (keyStore === undefined) return 2;
    const database = await openDatabase(databasePath(dataDir)).catch((error: unknown) => {
      out.error(`callrec recover: database: ${messageOf(error)}`);
      return undefined;
    });
    if (database === undefined) return 2;
    try {
      const ledgerStore = new SqliteLedgerStore(database);
      const ledger = new Ledger({ store: ledgerStore, checkpointDir: ledgerDir(dataDir) });
      const uploads = new SqliteUploadStore(database);
      const queued = new Map<string, string[]>();
      const summary = await recoverRecordings({
        config,
        catalogue: new SqliteRecordingStore(database),
        calls: new SqliteCallStore(database),
        ledgerStore,
        ledger,
        signer: keyStore,
        // The lines go to stderr: stdout is the report below
        logger: createLogger({ level: 'error', destination: process.stderr }),
        audit: { log: new SqliteAuditLog(database), actor: cliActor() },
        queue: async (recording, profileId) => {
          const request = uploadRequestFor(config, recording, profileId);
          if (request.targets.length > 0) await uploads.enqueue(request);
          queued.set(
            recording.id,
            request.targets.map((target) => target.targetId),
          );
        },
      }).catch((error: unknown) => {
        out.error(`callrec recover: ${messageOf(error)}`);
        return undefined;
      });
      if (summary === undefined) return 1;
      // A signed checkpoint of the extended chain, as the server writes at start and shutdown
      if (summary.recovered.some((recording) => recording.action !== 'already-sealed'))
        await ledger.checkpoint(keyStore).catch((error: unknown) => {
          out.error(`callrec recover: ledger checkpoint failed: ${messageOf(error)}`);
        });
      for (const recording of summary.recovered) {
        const targets = queued.get(recording.id) ?? [];
        out.log(
          `recovered ${recording.id} (${recording.action}): ${(recording.coveredMs / 1000).toFixed(1)} s of audio, ` +
            `${recording.seal.signed ? 'signed' : 'not signed (profile)'}, ` +
            (targets.length === 0 ? 'no archive target' : `queued for ${targets.join(', ')}`) +
            (recording.gap === null ? '' : `; ${recording.gap}`),
        );
      }
      for (const failure of summary.failed) out.error(`FAILED ${failure.id}: ${failure.error}`);
      out.log(
        summary.recovered.length + summary.failed.length === 0
          ? 'nothing to recover'
          : `${summary.recovered.length} recording(s) recovered, ${summary.failed.length} failed`,
      );
      return summary.failed.length === 0 ? 0 : 1;
    } finally {
      await database.close();
    }
  } finally {
    await lock.release();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
