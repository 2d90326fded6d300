import { userInfo } from 'node:os';
import { loadConfig, type CallrecConfig } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { Membership, MembershipError, membershipProblem } from '../../policy/index.js';
import { databasePath, openDatabase, SqliteMembershipStore } from '../../store/index.js';

/** Where the `group` and `audit` commands write: `log` for results, `error` for errors. */
export interface AdminCommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** What `group login|logout|status` does. */
export type GroupAction = 'login' | 'logout' | 'status';

/** Options of {@link runGroupCommand}. */
export interface GroupCommandOptions {
  /** The config file (its `installation.dataDir` holds `callrec.db`). */
  readonly configPath: string;
  readonly out: AdminCommandOutput;
}

const ACTIONS: readonly string[] = ['login', 'logout', 'status'] satisfies readonly GroupAction[];

/**
 * `callrec group login|logout|status <group> <user>` (SPEC §3, §11). Switches a configured
 * member's membership in `<dataDir>/callrec.db` (audited with actor `cli:<os user>`; a running
 * server notices through `Membership.refreshIfChanged`) or prints it:
 * `alice: logged out of group trading`, `alice: logged in to group trading`,
 * `alice is active in group trading`, `alice is not active in group trading (…)`.
 * 0 done, 1 unknown group or user or not a member, 2 usage, invalid config or database error.
 */
export async function runGroupCommand(
  action: string,
  groupId: string,
  userId: string,
  options: GroupCommandOptions,
): Promise<number> {
  const { out } = options;
  if (!ACTIONS.includes(action)) {
    out.error(`callrec group: unknown action "${action}" (expected login, logout or status)`);
    return 2;
  }
  if (groupId.trim() === '' || userId.trim() === '') {
    out.error(`callrec group ${action}: usage: callrec group ${action} <group> <user>`);
    return 2;
  }
  const config = await loadConfigFor(`group ${action}`, options.configPath, out);
  if (config === undefined) return 2;
  const problem = membershipProblem(config, groupId, userId);
  if (problem !== undefined) {
    out.error(`callrec group ${action}: ${new MembershipError(problem, groupId, userId).message}`);
    return 1;
  }
  try {
    const db = await openDatabase(databasePath(config.installation.dataDir));
    try {
      const membership = await Membership.load(new SqliteMembershipStore(db), config);
      if (action === 'status') {
        const status = membership.status(groupId, userId);
        const since =
          status.changedAt === null
            ? ''
            : ` (logged ${status.active ? 'in' : 'out'} ${status.changedAt} by ${status.changedBy ?? '?'})`;
        out.log(`${userId} is ${status.active ? 'active' : 'not active'} in group ${groupId}${since}`);
      } else {
        const login = action === 'login';
        const update = login
          ? await membership.login(groupId, userId, cliActor())
          : await membership.logout(groupId, userId, cliActor());
        const already = update.wasActive === update.active ? ` (already logged ${login ? 'in' : 'out'})` : '';
        out.log(`${userId}: logged ${login ? 'in to' : 'out of'} group ${groupId}${already}`);
      }
      return 0;
    } finally {
      await db.close();
    }
  } catch (error) {
    if (error instanceof MembershipError) {
      out.error(`callrec group ${action}: ${error.message}`);
      return 1;
    }
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec group ${action}: ${error.message}`);
    return 2;
  }
}

/** The actor of CLI changes in the audit log: `cli:<os user>`. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // no passwd entry (e.g. an arbitrary container uid): name the uid instead
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Loads the config, printing its errors (`<json-path>: <message>`) when it is invalid. */
export async function loadConfigFor(
  command: string,
  configPath: string,
  out: AdminCommandOutput,
): Promise<CallrecConfig | undefined> {
  const loaded = await loadConfig(configPath);
  if (loaded.ok) return loaded.config;
  for (const error of loaded.errors) out.error(`${error.path === '' ? '/' : error.path}: ${error.message}`);
  out.error(`callrec ${command}: invalid config ${configPath}`);
  return undefined;
}
