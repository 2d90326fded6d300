import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The lock file in `installation.dataDir`: the pid (and start) of the callrec process working on it. */
export const DATA_DIR_LOCK_FILE = 'callrec.pid';

/** Who holds a data directory. */
export interface DataDirLockHolder {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22); tells a reused pid apart. */
  readonly startTicks: string | null;
  /** `run`, `recover`, `demo`, … */
  readonly command: string;
  /** ISO 8601 UTC. */
  readonly since: string;
}

/** A held data directory; {@link release} frees it (idempotent). */
export interface DataDirLock {
  readonly path: string;
  readonly holder: DataDirLockHolder;
  release(): Promise<void>;
}

/** Another live callrec process holds the data directory. */
export class DataDirLockedError extends Error {
  readonly holder: DataDirLockHolder;

  constructor(dataDir: string, holder: DataDirLockHolder) {
    super(
      `data directory ${dataDir} is in use by another callrec (pid ${holder.pid}, "callrec ${holder.command}" since ${holder.since}); ` +
        `stop it first, or remove ${join(dataDir, DATA_DIR_LOCK_FILE)} if that process is not callrec`,
    );
    this.name = 'DataDirLockedError';
    this.holder = holder;
  }
}

/**
 * Takes `<dataDir>/callrec.pid` for this process, so that two callrec processes never work on one
 * data directory (two servers would record into one spool and chain; `callrec recover` must not
 * repair files a running server is writing). A lock left by a process that is gone (kill -9, power
 * loss) — or whose pid now belongs to another process — is taken over. Rejects with
 * {@link DataDirLockedError} while a live holder has it.
 *
 * NOTE: taking over a stale lock is check-then-replace: two processes starting within the same
 * instant on a stale lock could both pass. The file is created exclusively (`wx`), so this needs
 * the stale file and two simultaneous starts.
 */
export async function acquireDataDirLock(dataDir: string, command: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const holder: DataDirLockHolder = {
    pid: process.pid,
    startTicks: await processStartTicks(process.pid),
    command,
    since: new Date().toISOString(),
  };
  const text = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, text)) return heldLock(path, holder, text);
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    if (existing === undefined) continue; // released in between: try again
    const current = parseHolder(existing);
    if (current !== undefined && (await isAlive(current))) throw new DataDirLockedError(dataDir, current);
    // Stale (or unreadable): replace it unless someone else did meanwhile.
    if ((await readFile(path, 'utf8').catch(() => undefined)) === existing) await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not take ${path}: it keeps changing`);
}

/** Who holds `dataDir` now, if a live process does. */
export async function dataDirLockHolder(dataDir: string): Promise<DataDirLockHolder | undefined> {
  const text = await readFile(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8').catch(() => undefined);
  const holder = text === undefined ? undefined : parseHolder(text);
  return holder !== undefined && (await isAlive(holder)) ? holder : undefined;
}

async function createExclusive(path: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

function heldLock(path: string, holder: DataDirLockHolder, text: string): DataDirLock {
  let released: Promise<void> | undefined;
  return {
    path,
    holder,
    release: () => {
      released ??= (async () => {
        // Only our own lock: a stale-lock takeover by another process must not be undone.
        if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
      })();
      return released;
    },
  };
}

function parseHolder(text: string): DataDirLockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<DataDirLockHolder> | null;
    if (value === null || typeof value.pid !== 'number' || !Number.isSafeInteger(value.pid) || value.pid <= 0) {
      return undefined;
    }
    return {
      pid: value.pid,
      startTicks: typeof value.startTicks === 'string' ? value.startTicks : null,
      command: typeof value.command === 'string' ? value.command : 'unknown',
      since: typeof value.since === 'string' ? value.since : 'unknown',
    };
  } catch {
    return undefined;
  }
}

async function isAlive(holder: DataDirLockHolder): Promise<boolean> {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // ESRCH: no such process
  }
  const stat = await procStat(holder.pid);
  if (stat === undefined) return true; // no /proc: the signal check is all there is
  if (stat.state === 'Z' || stat.state === 'X') return false; // exited, not yet reaped
  return holder.startTicks === null || stat.startTicks === holder.startTicks;
}

async function processStartTicks(pid: number): Promise<string | null> {
  return (await procStat(pid))?.startTicks ?? null;
}

/** State and start time from `/proc/<pid>/stat` (proc(5)); the command name may contain spaces and parentheses. */
async function procStat(pid: number): Promise<{ state: string; startTicks: string } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state] = fields;
  const startTicks = fields[19]; // field 22 overall; fields here start at field 3
  return state === undefined || startTicks === undefined ? undefined : { state, startTicks };
}
