import type { Command } from 'commander';
import { AppError } from '../../errors.js';
import { maskNumber } from '../../observability/index.js';
import {
  eraseRecordings,
  erasurePseudonym,
  locationName,
  pseudonymKey,
  type ErasureOutcome,
} from '../../privacy/index.js';
import { SqliteCallStore } from '../../store/index.js';
import { configPathFrom } from '../config-path.js';
import { subjectNumber } from './export.js';
import { cliActor, loadConfigFor, type AdminCommandOutput } from './group.js';
import { openDisposalContext, type DisposalContext } from './retention.js';

/** Options of {@link runEraseCommand}. */
export interface EraseCommandOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** `--number`: in any format. */
  readonly number: string;
  /** `--force`: erase also recordings inside a statutory retention (never under legal hold). */
  readonly force?: boolean;
  /** `--reason`: required with `--force`; recorded in the disposal log and the audit log. */
  readonly reason?: string;
}

/**
 * `callrec erase --number <n> [--force --reason <text>]` (SPEC §7, §11, GDPR Art. 17): deletes
 * every recording that involves the number from the spool and every target, logs each in the
 * signed disposal log and pseudonymises the number in the database (see `eraseRecordings`).
 * Recordings under legal hold are refused even with `--force`; those inside a statutory retention
 * unless `--force --reason`. Prints one line per recording (erased, REFUSED with why, FAILED) and
 * a summary. Exit 0 every recording erased (also when none involves the number), 1 some refused
 * (untouched) or failed (still listed; copies already deleted stay deleted, run it again), 2
 * usage, config, keystore or database error.
 */
export async function runEraseCommand(options: EraseCommandOptions): Promise<number> {
  const { out } = options;
  const reason = options.reason?.trim();
  if (options.number.trim() === '') {
    out.error('callrec erase: --number: empty');
    return 2;
  }
  if (options.reason !== undefined && reason === '') {
    out.error('callrec erase: --reason: empty');
    return 2;
  }
  if (options.force === true && reason === undefined) {
    out.error('callrec erase: --force needs --reason <text> (why the statutory retention is overridden)');
    return 2;
  }
  const config = await loadConfigFor('erase', options.configPath, out);
  if (config === undefined) return 2;
  const number = subjectNumber(config, options.number);
  if (number === undefined) {
    out.error(`callrec erase: --number: ${JSON.stringify(options.number)} is not a phone number or extension`);
    return 2;
  }
  let context: DisposalContext;
  try {
    context = await openDisposalContext(config, options.configPath);
  } catch (error) {
    out.error(`callrec erase: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const masked = maskNumber(number.normalised) ?? '';
  try {
    const recordings = await context.catalogue.list({ numbers: number.forms });
    const alreadyDeleted = await context.catalogue.list({ numbers: number.forms, states: ['deleted'] });
    const summary = await eraseRecordings({
      recordings,
      alreadyDeleted,
      numbers: number.forms,
      pseudonym: erasurePseudonym(pseudonymKey(context.keyStore), number.canonical),
      maskedNumber: masked,
      force: options.force === true,
      ...(reason === undefined ? {} : { reason }),
      actor: cliActor(),
      targets: context.targets,
      uploads: context.uploads,
      spoolRoot: context.spoolRoot,
      disposalLog: context.disposalLog,
      catalogue: context.catalogue,
      calls: new SqliteCallStore(context.db),
      audit: context.audit,
      onOutcome: (outcome) => printOutcome(outcome, out),
    });
    if (recordings.length === 0) {
      out.log(`no recordings involve ${masked}; nothing erased`);
    } else {
      out.log(
        `erase --number ${masked}: ${summary.erased} erased, ${summary.refused} refused, ${summary.failed} failed` +
          (summary.refused === 0 ? '' : '; refused recordings were not touched') +
          (summary.failed === 0 ? '' : '; failed ones stay listed, run erase again'),
      );
    }
    if (alreadyDeleted.length > 0) {
      out.log(`${alreadyDeleted.length} recording(s) deleted earlier: their call rows pseudonymised`);
    }
    return summary.refused + summary.failed === 0 ? 0 : 1;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec erase: ${error.message}`);
    return 2;
  } finally {
    await context.close();
  }
}

/** Adds `erase` to the command line. */
export function addEraseCommand(program: Command, onExit: (code: number) => void): void {
  program
    .command('erase')
    .description(
      "delete a number's recordings everywhere and pseudonymise it; refuses legal holds and statutory retention; exit 0 ok, 1 refused/failed, 2 usage",
    )
    .requiredOption('--number <n>', 'the number, in any format (normalised with the config numbering)')
    .option('--force', 'erase also inside a statutory retention (never under a legal hold); needs --reason')
    .option('--reason <text>', 'why: kept in the disposal log and the audit log')
    .option('--config <file>', 'config file (default: $CALLREC_CONFIG or config/callrec.json)')
    .action(async (o: { number: string; force?: boolean; reason?: string; config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      onExit(
        await runEraseCommand({
          configPath: configPathFrom(o.config),
          out,
          number: o.number,
          force: o.force === true,
          ...(o.reason === undefined ? {} : { reason: o.reason }),
        }),
      );
    });
}

function printOutcome(outcome: ErasureOutcome, out: AdminCommandOutput): void {
  switch (outcome.result) {
    case 'erased': {
      const where = outcome.locations.map(locationName).join(', ');
      const forced =
        outcome.forcedUntil === undefined ? '' : ` (forced: statutory retention until ${outcome.forcedUntil})`;
      out.log(`erased ${outcome.recordingId} from ${where}${forced}`);
      if (outcome.warning !== undefined) out.error(`warning ${outcome.recordingId}: ${outcome.warning}`);
      return;
    }
    case 'refused':
      out.log(`REFUSED ${outcome.recordingId}: ${outcome.why}`);
      return;
    case 'failed':
      out.error(`FAILED ${outcome.recordingId}: ${outcome.why}`);
  }
}
