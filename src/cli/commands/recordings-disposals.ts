import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { resolveSecret } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { openKeyStore } from '../../integrity/index.js';
import { disposalEntryText, DisposalLog, locationName } from '../../privacy/index.js';
import { databasePath, openDatabase, SqliteDisposalStore } from '../../store/index.js';
import { loadConfigFor, type AdminCommandOutput } from './group.js';

/** Options of {@link runRecordingsDisposals}. */
export interface RecordingsDisposalsOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** Only entries at or after this ISO 8601 time (the whole chain is verified all the same). */
  readonly since?: string;
  readonly json?: boolean;
  /** Verify with this certificate (PEM) instead of the keystore's. */
  readonly cert?: string;
}

/**
 * `callrec recordings disposals [--since <iso>] [--json] [--cert <pem>]`: the signed disposal log
 * (SPEC §7) — which recording was deleted when, under which policy, by whom, from where — and the
 * verification of the whole chain (links, hashes, RSA signatures) with the installation's
 * certificate. `--json` prints `{ verified, entries, findings }`, each entry with the exact `text`
 * its `sha256` and `signature` cover, for checking with openssl. Exit 0 verified, 1 verification
 * failed, 2 usage, config, keystore or database error.
 */
export async function runRecordingsDisposals(options: RecordingsDisposalsOptions): Promise<number> {
  const { out } = options;
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
    out.error(`callrec recordings disposals: --since: not an ISO 8601 time: ${options.since}`);
    return 2;
  }
  const config = await loadConfigFor('recordings disposals', options.configPath, out);
  if (config === undefined) return 2;
  let certificatePem: string;
  try {
    if (options.cert !== undefined) certificatePem = await readFile(options.cert, 'utf8');
    else {
      const password = await resolveSecret(config.installation.keystorePassword, dirname(resolve(options.configPath)));
      const keyStore = await openKeyStore({ dataDir: config.installation.dataDir, password });
      certificatePem = keyStore.certificatePem;
    }
  } catch (error) {
    out.error(`callrec recordings disposals: certificate: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const log = new DisposalLog({ store: new SqliteDisposalStore(db) });
      const verdict = await log.verify(certificatePem);
      const entries = await log.list(options.since === undefined ? {} : { since: options.since });
      if (options.json === true) {
        const withText = entries.map((entry) => ({ ...entry, text: disposalEntryText(entry) }));
        out.log(JSON.stringify({ verified: verdict.ok, entries: withText, findings: verdict.findings }, null, 2));
      } else {
        for (const entry of entries) {
          const where = entry.locations.map(
            (location) => `${locationName(location)} (${location.deleted.length} files)`,
          );
          out.log(
            `#${entry.id} ${entry.at} ${entry.action} ${entry.recordingId} by ${entry.actor}: ${entry.policy}; ` +
              `deleted from ${where.join(', ')}`,
          );
        }
        for (const finding of verdict.findings) out.error(`entry ${finding.id}: ${finding.problem}`);
        out.log(
          verdict.ok
            ? `disposal log: ${entriesText(verdict.entries)}; chain and signatures verified`
            : `disposal log: VERIFICATION FAILED (${verdict.findings.length} problems in ${entriesText(verdict.entries)})`,
        );
      }
      return verdict.ok ? 0 : 1;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec recordings disposals: ${error.message}`);
    return 2;
  }
}

function entriesText(count: number): string {
  return `${count} ${count === 1 ? 'entry' : 'entries'}`;
}
