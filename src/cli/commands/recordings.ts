import type { CallrecConfig } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { createNumberNormaliser } from '../../policy/index.js';
import {
  databasePath,
  openDatabase,
  SqliteAuditLog,
  SqliteRecordingStore,
  type RecordingQuery,
  type RecordingRecord,
  type RecordingState,
} from '../../store/index.js';
import { cliActor, loadConfigFor, type AdminCommandOutput } from './group.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const EVERY_STATE: readonly RecordingState[] = ['recording', 'finalizing', 'spooled', 'archived', 'deleted'];

/** Options of {@link runRecordingsList}. */
export interface RecordingsListOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  /** A number in any format; matched normalised as caller or callee (extension and DID alike). */
  readonly number?: string;
  /** ISO 8601: recordings that started at or after. */
  readonly since?: string;
  /** ISO 8601: recordings that started before. */
  readonly until?: string;
  readonly json?: boolean;
  /** Include deleted recordings. */
  readonly all?: boolean;
}

/** One recording as `recordings list --json` prints it (SPEC §11; extend, never rename). */
export interface RecordingListItem {
  readonly id: string;
  readonly profile: string | null;
  readonly direction: 'inbound' | 'outbound' | null;
  readonly start: string;
  readonly end: string | null;
  /** Normalised (E.164 or extension); `null` when not a number (or pseudonymised to none). */
  readonly caller: string | null;
  readonly callee: string | null;
  readonly state: RecordingState;
  /** Under legal hold. */
  readonly hold: boolean;
  readonly holdReason: string | null;
  readonly heldSince: string | null;
  readonly heldBy: string | null;
  readonly endReason: string | null;
  readonly retentionDays: number | null;
  /** When retention deletes it (`start + retentionDays × 24 h`); `null`: kept. */
  readonly retentionEnds: string | null;
  readonly statutory: boolean;
  readonly deletedAt: string | null;
  readonly deletionReason: string | null;
}

/**
 * The stored forms `raw` (a number in any format) can have in the catalogue: its normalised value
 * and the alias of the same line (extension ↔ company DID). Empty for something that is not a
 * number — the catalogue stores no such parties.
 */
export function numbersToMatch(config: CallrecConfig, raw: string): string[] {
  const normaliser = createNumberNormaliser(config.numbering, config.users);
  const number = normaliser.normalise(raw);
  if (number.kind === 'unknown') return [];
  return normaliser.aliases(number).map((alias) => alias.value);
}

/** A catalogue row as printed by `recordings list --json`. */
export function recordingListItem(recording: RecordingRecord): RecordingListItem {
  return {
    id: recording.id,
    profile: recording.profile,
    direction: recording.direction,
    start: recording.start,
    end: recording.end,
    caller: recording.caller,
    callee: recording.callee,
    state: recording.state,
    hold: recording.hold !== null,
    holdReason: recording.hold?.reason ?? null,
    heldSince: recording.hold?.since ?? null,
    heldBy: recording.hold?.by ?? null,
    endReason: recording.endReason,
    retentionDays: recording.retentionDays,
    retentionEnds:
      recording.retentionDays === null
        ? null
        : new Date(Date.parse(recording.start) + recording.retentionDays * DAY_MS).toISOString(),
    statutory: recording.statutory,
    deletedAt: recording.deletedAt,
    deletionReason: recording.deletionReason,
  };
}

/**
 * `callrec recordings list [--number <n>] [--since <iso>] [--until <iso>] [--json] [--all]`
 * (SPEC §7, §11): the catalogue, oldest first; deleted recordings only with `--all`. The table
 * shows numbers unmasked (an admin command); every listing is audited as `recordings.list` with
 * the query as subject. Exit 0 (also when nothing matches), 2 usage, config or database error.
 */
export async function runRecordingsList(options: RecordingsListOptions): Promise<number> {
  const { out } = options;
  for (const [flag, value] of [
    ['--since', options.since],
    ['--until', options.until],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      out.error(`callrec recordings list: ${flag}: not an ISO 8601 time: ${value}`);
      return 2;
    }
  }
  if (options.number !== undefined && options.number.trim() === '') {
    out.error('callrec recordings list: --number: empty');
    return 2;
  }
  const config = await loadConfigFor('recordings list', options.configPath, out);
  if (config === undefined) return 2;
  const query: RecordingQuery = {
    ...(options.number === undefined ? {} : { numbers: numbersToMatch(config, options.number) }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
    ...(options.all === true ? { states: EVERY_STATE } : {}),
  };
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const recordings = await new SqliteRecordingStore(db).list(query);
      await new SqliteAuditLog(db).append({
        actor: cliActor(),
        action: 'recordings.list',
        subject: describeQuery(options),
        details: { recordings: recordings.length, ...(query.numbers === undefined ? {} : { numbers: query.numbers }) },
      });
      const items = recordings.map(recordingListItem);
      if (options.json === true) out.log(JSON.stringify(items, null, 2));
      else printTable(items, out);
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec recordings list: ${error.message}`);
    return 2;
  }
}

/** `number:+4930123456 since:… until:… all`, or `*` for everything. */
function describeQuery(options: RecordingsListOptions): string {
  const parts = [
    options.number === undefined ? undefined : `number:${options.number}`,
    options.since === undefined ? undefined : `since:${options.since}`,
    options.until === undefined ? undefined : `until:${options.until}`,
    options.all === true ? 'all' : undefined,
  ].filter((part): part is string => part !== undefined);
  return parts.length === 0 ? '*' : parts.join(' ');
}

function printTable(items: readonly RecordingListItem[], out: AdminCommandOutput): void {
  if (items.length === 0) {
    out.log('no recordings');
    return;
  }
  const header = ['ID', 'START', 'END', 'PROFILE', 'DIRECTION', 'CALLER', 'CALLEE', 'STATE', 'HOLD'];
  const rows = items.map((item) => [
    item.id,
    item.start,
    item.end ?? '-',
    item.profile ?? '-',
    item.direction ?? '-',
    item.caller ?? '-',
    item.callee ?? '-',
    item.state,
    item.hold ? `held: ${item.holdReason ?? ''}` : '-',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of [header, ...rows]) {
    out.log(
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    );
  }
}

/** Options of {@link runRecordingsHold} and {@link runRecordingsRelease}. */
export interface RecordingHoldOptions {
  readonly configPath: string;
  readonly out: AdminCommandOutput;
  readonly id: string;
  /** `hold --reason <text>`. */
  readonly reason?: string;
}

/**
 * `callrec recordings hold <id> --reason <text>` / `callrec recordings release <id>` (SPEC §7,
 * §11): sets or lifts a legal hold, which exempts the recording from retention and erasure. The
 * change and its audit entry (`recordings.hold` / `recordings.release`, actor `cli:<os user>`)
 * commit together. Exit 0 done (also releasing a recording without hold), 1 unknown or deleted
 * recording, 2 usage, config or database error.
 */
export async function runRecordingsHold(action: 'hold' | 'release', options: RecordingHoldOptions): Promise<number> {
  const { out, id } = options;
  const command = `recordings ${action}`;
  const reason = options.reason?.trim() ?? '';
  if (id.trim() === '') {
    out.error(`callrec ${command}: usage: callrec ${command} <id>${action === 'hold' ? ' --reason <text>' : ''}`);
    return 2;
  }
  if (action === 'hold' && reason === '') {
    out.error('callrec recordings hold: --reason <text> is required (why the recording must be kept)');
    return 2;
  }
  const config = await loadConfigFor(command, options.configPath, out);
  if (config === undefined) return 2;
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const actor = cliActor();
      const message = await db.transaction(async (tx) => {
        const catalogue = new SqliteRecordingStore(tx);
        const audit = new SqliteAuditLog(tx);
        if (action === 'hold') {
          const held = await catalogue.hold(id, reason, actor);
          await audit.append({ actor, action: 'recordings.hold', subject: id, details: { reason } });
          return `${id}: under legal hold since ${held.hold?.since ?? '?'} (${reason}); retention and erasure skip it`;
        }
        const released = await catalogue.release(id);
        await audit.append({ actor, action: 'recordings.release', subject: id, details: { held: released } });
        return released ? `${id}: legal hold released` : `${id}: had no legal hold`;
      });
      out.log(message);
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec ${command}: ${error.message}`);
    return error.code === 'STORE_CONFLICT' ? 1 : 2;
  }
}
