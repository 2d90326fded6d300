import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { CallrecConfig } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { createNumberNormaliser } from '../../policy/index.js';
import { exportRecordings, packageDirProblem, type ExportProgress, type ExportSummary } from '../../privacy/index.js';
import { configPathFrom } from '../config-path.js';
import { cliActor, loadConfigFor, type AdminCommandOutput } from './group.js';
import { openDisposalContext, type DisposalContext } from './retention.js';

/** A data subject's number as the catalogue stores it. */
export interface SubjectNumber {
  /** The number normalised (E.164 or extension), as the admin's input reads. */
  readonly normalised: string;
  /** Every stored form of the same line: the normalised value and its alias (extension ↔ DID). */
  readonly forms: readonly string[];
  /** One form for every spelling of the line (E.164 where there is one), for pseudonyms. */
  readonly canonical: string;
}

/**
 * `raw` (a number in any format: `+49 30 123456-201`, `030123456201`, `201`) normalised with the
 * config's numbering plan; `undefined` when it is no number (the catalogue stores none such).
 */
export function subjectNumber(config: CallrecConfig, raw: string): SubjectNumber | undefined {
  const normaliser = createNumberNormaliser(config.numbering, config.users);
  const number = normaliser.normalise(raw);
  if (number.kind === 'unknown' || number.value === '') return undefined;
  const aliases = normaliser.aliases(number);
  return {
    normalised: number.value,
    forms: aliases.map((alias) => alias.value),
    canonical: (aliases.find((alias) => alias.kind === 'e164') ?? number).value,
  };
}

/** Whether `value` is an ISO 8601 time `Date` understands. */
export function isIsoTime(value: string): boolean {
  return /^\d{4}-\d\d-\d\d/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Options of {@link runExportCommand}. */
export interface ExportCommandOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** `--number`: in any format. */
  readonly number: string;
  /** `--out`: the package folder (new or empty). */
  readonly outDir: string;
  readonly since?: string;
  readonly until?: string;
  /** The `bin/verify.sh` copied into the package. */
  readonly verifyScriptPath: string;
  /** Draw a progress bar on stderr (on a terminal). @default false */
  readonly progress?: boolean;
}

/**
 * `callrec export --number <n> --out <dir> [--since <iso>] [--until <iso>]` (SPEC §7, §11): the
 * evidence package of every sealed recording that involves the number (see `exportRecordings`).
 * Prints one summary at the end (and a progress bar on a terminal). Exit 0 all verified — also
 * when no recording involves the number: then nothing is created and it says so; 1 some
 * recording failed verification in the package (still exported, flagged); 2 usage, config,
 * keystore, database or I/O error.
 */
export async function runExportCommand(options: ExportCommandOptions): Promise<number> {
  const { out } = options;
  const usage = usageProblem(options);
  if (usage !== undefined) {
    out.error(`callrec export: ${usage}`);
    return 2;
  }
  const config = await loadConfigFor('export', options.configPath, out);
  if (config === undefined) return 2;
  const number = subjectNumber(config, options.number);
  if (number === undefined) {
    out.error(`callrec export: --number: ${JSON.stringify(options.number)} is not a phone number or extension`);
    return 2;
  }
  const outDir = resolve(options.outDir);
  const refused = await packageDirProblem(outDir);
  if (refused !== undefined) {
    out.error(`callrec export: --out: ${refused}`);
    return 2;
  }
  let verifyScript: Buffer;
  try {
    verifyScript = await readFile(options.verifyScriptPath);
  } catch (error) {
    out.error(`callrec export: cannot read ${options.verifyScriptPath}: ${messageOf(error)}`);
    return 2;
  }
  let context: DisposalContext;
  try {
    context = await openDisposalContext(config, options.configPath);
  } catch (error) {
    out.error(`callrec export: ${messageOf(error)}`);
    return 2;
  }
  try {
    const period = { ...pick(options, 'since'), ...pick(options, 'until') };
    const recordings = await context.catalogue.list({
      numbers: number.forms,
      ...period,
      states: ['spooled', 'archived'],
    });
    const unsealed = await context.catalogue.list({
      numbers: number.forms,
      ...period,
      states: ['recording', 'finalizing'],
    });
    const unsealedNote =
      unsealed.length === 0
        ? undefined
        : `${unsealed.length} recording(s) still being recorded or finalised are not included`;
    if (recordings.length === 0) {
      await context.audit.append({
        actor: cliActor(),
        action: 'export',
        subject: `number:${number.normalised}`,
        details: { count: 0, out: null, ...period },
      });
      out.log(
        `no sealed recordings involve ${number.normalised}${describePeriod(period)}; nothing exported, ${outDir} not created`,
      );
      if (unsealedNote !== undefined) out.log(unsealedNote);
      return 0;
    }
    const bar = options.progress === true ? startBar(recordings.length) : undefined;
    let summary: ExportSummary;
    try {
      summary = await exportRecordings({
        recordings,
        outDir,
        certificatePem: context.keyStore.exportCertificatePem(),
        certificateFingerprint: context.keyStore.describe().sha256Fingerprint,
        installationId: context.keyStore.installationId,
        verifyScript,
        targets: context.targets,
        uploads: context.uploads,
        number: number.normalised,
        ...period,
        audit: context.audit,
        actor: cliActor(),
        onProgress: (progress: ExportProgress) => bar?.update(progress.done, { id: progress.row.id }),
      });
    } finally {
      bar?.stop();
    }
    printSummary(summary, number.normalised, out);
    if (unsealedNote !== undefined) out.log(unsealedNote);
    return summary.failed > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec export: ${error.message}`);
    return 2;
  } finally {
    await context.close();
  }
}

/** Adds `export` to the command line; `verifyScriptPath` is the installation's `bin/verify.sh`. */
export function addExportCommand(program: Command, verifyScriptPath: string, onExit: (code: number) => void): void {
  program
    .command('export')
    .description(
      'evidence package of every recording that involves a number; exit 0 ok, 1 verification failed, 2 usage/I/O',
    )
    .requiredOption('--number <n>', 'the number, in any format (normalised with the config numbering)')
    .requiredOption('--out <dir>', 'the package folder: new or empty')
    .option('--since <iso>', 'only recordings started at or after this time')
    .option('--until <iso>', 'only recordings started before this time')
    .option('--config <file>', 'config file (default: $CALLREC_CONFIG or config/callrec.json)')
    .action(async (o: { number: string; out: string; since?: string; until?: string; config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      onExit(
        await runExportCommand({
          configPath: configPathFrom(o.config),
          out,
          number: o.number,
          outDir: o.out,
          verifyScriptPath,
          progress: process.stderr.isTTY,
          ...(o.since === undefined ? {} : { since: o.since }),
          ...(o.until === undefined ? {} : { until: o.until }),
        }),
      );
    });
}

function usageProblem(options: ExportCommandOptions): string | undefined {
  if (options.number.trim() === '') return '--number: empty';
  if (options.outDir.trim() === '') return '--out: empty';
  for (const key of ['since', 'until'] as const) {
    const value = options[key];
    if (value !== undefined && !isIsoTime(value)) return `--${key}: not an ISO 8601 time: ${value}`;
  }
  return undefined;
}

function printSummary(summary: ExportSummary, number: string, out: AdminCommandOutput): void {
  const verified = summary.rows.length - summary.failed;
  for (const row of summary.rows.filter((candidate) => !candidate.verified)) {
    out.error(`FAIL ${row.id}: ${row.problems.join('; ') || 'verification failed'}`);
  }
  out.log(
    `exported ${summary.rows.length} recording(s) involving ${number} to ${summary.outDir}: ${verified} verified` +
      (summary.failed === 0 ? '' : `, ${summary.failed} FAILED verification (exported and flagged in summary.csv)`),
  );
  const example = summary.rows[0]?.id ?? '<id>';
  out.log(
    `an auditor checks it without callrec: cd ${summary.outDir} && ./verify.sh ${example} certificate.pem (see README.txt)`,
  );
}

function startBar(total: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    { format: 'export [{bar}] {value}/{total} {id}', hideCursor: true, clearOnComplete: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { id: '' });
  return bar;
}

function describePeriod(period: { readonly since?: string; readonly until?: string }): string {
  return `${period.since === undefined ? '' : ` since ${period.since}`}${period.until === undefined ? '' : ` until ${period.until}`}`;
}

function pick<K extends 'since' | 'until'>(options: ExportCommandOptions, key: K): Partial<Record<K, string>> {
  const value = options[key];
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
