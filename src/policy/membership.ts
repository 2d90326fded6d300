import { AppError, type ErrorCode } from '../errors.js';
import type { MembershipRecord, MembershipStore } from '../store/protocol-store.js';
import type { MembershipView, PolicyGroup, PolicyUser } from './policy-types.js';

/** Why a membership request names something that is not a configured membership. */
export type MembershipProblem = 'unknown-group' | 'unknown-user' | 'not-member';

const MEMBERSHIP_ERROR_CODE: ErrorCode = 'POLICY_MEMBERSHIP';

/** A login/logout/status for a group or user the configuration does not have, or a non-member. */
export class MembershipError extends AppError {
  readonly problem: MembershipProblem;
  readonly groupId: string;
  readonly userId: string;

  constructor(problem: MembershipProblem, groupId: string, userId: string) {
    super(MEMBERSHIP_ERROR_CODE, describeProblem(problem, groupId, userId));
    this.name = 'MembershipError';
    this.problem = problem;
    this.groupId = groupId;
    this.userId = userId;
  }
}

/** The configured groups and users; a loaded `CallrecConfig` is one. */
export interface MembershipDirectory {
  readonly groups: readonly Pick<PolicyGroup, 'id' | 'members'>[];
  readonly users: readonly Pick<PolicyUser, 'id'>[];
}

/** A configured member's current state. */
export interface MembershipStatus {
  readonly groupId: string;
  readonly userId: string;
  readonly active: boolean;
  /** When it was last switched (ISO 8601 UTC); `null` when never (active by configuration). */
  readonly changedAt: string | null;
  /** Who switched it last; `null` when never. */
  readonly changedBy: string | null;
}

/** The outcome of {@link Membership.login} / {@link Membership.logout}. */
export interface MembershipUpdate extends MembershipStatus {
  /** Whether the user was active before. */
  readonly wasActive: boolean;
}

/**
 * Who of the configured group members is active (SPEC §3), answered synchronously from memory so
 * the B2BUA decides without awaiting. Configured members are active unless switched off; the
 * switches live in the store (they survive restarts) and are written through it. Another process
 * (`callrec group logout`) writes the same database: {@link refreshIfChanged} notices its commits.
 */
export class Membership implements MembershipView {
  readonly #store: MembershipStore;
  #groups = new Map<string, ReadonlySet<string>>();
  #users = new Set<string>();
  #states = new Map<string, MembershipRecord>();
  /** `PRAGMA data_version` as of the last reload. */
  #version: number | undefined;
  /** Bumped by each local write, so a reload that raced one is repeated. */
  #writes = 0;
  #reloads: Promise<void> = Promise.resolve();

  private constructor(store: MembershipStore, directory: MembershipDirectory) {
    this.#store = store;
    this.reconfigure(directory);
  }

  /** Builds the cache from the configured groups/users and the store's stored switches. */
  static async load(store: MembershipStore, directory: MembershipDirectory): Promise<Membership> {
    const membership = new Membership(store, directory);
    await membership.refresh();
    return membership;
  }

  /** Takes a new configuration (config reload); stored switches of removed members are ignored. */
  reconfigure(directory: MembershipDirectory): void {
    this.#groups = new Map(directory.groups.map((group) => [group.id, new Set(group.members)]));
    this.#users = new Set(directory.users.map((user) => user.id));
  }

  /** Whether `userId` is a configured member of `groupId` and not switched off. Never throws. */
  isActive(groupId: string, userId: string): boolean {
    if (this.#groups.get(groupId)?.has(userId) !== true) return false;
    return this.#states.get(key(groupId, userId))?.active ?? true;
  }

  /** The configured groups `userId` is a member of, in configuration order (for feature codes). */
  groupsOf(userId: string): string[] {
    return [...this.#groups].filter(([, members]) => members.has(userId)).map(([groupId]) => groupId);
  }

  /** The state of a configured member; throws {@link MembershipError} otherwise. */
  status(groupId: string, userId: string): MembershipStatus {
    this.#check(groupId, userId);
    const stored = this.#states.get(key(groupId, userId));
    return {
      groupId,
      userId,
      active: stored?.active ?? true,
      changedAt: stored?.changedAt ?? null,
      changedBy: stored?.changedBy ?? null,
    };
  }

  /** Switches a configured member on; rejects with {@link MembershipError} for anyone else. */
  login(groupId: string, userId: string, actor: string): Promise<MembershipUpdate> {
    return this.#switch(groupId, userId, true, actor);
  }

  /** Switches a configured member off; rejects with {@link MembershipError} for anyone else. */
  logout(groupId: string, userId: string, actor: string): Promise<MembershipUpdate> {
    return this.#switch(groupId, userId, false, actor);
  }

  /** Reloads every stored switch from the store. Reloads run one at a time. */
  refresh(): Promise<void> {
    const reload = this.#reloads.then(() => this.#reload());
    this.#reloads = reload.catch(() => undefined);
    return reload;
  }

  /**
   * Reloads only when another connection has committed since the last reload (one cheap
   * `PRAGMA data_version` otherwise); resolves `true` when it reloaded. Call before a decision.
   */
  async refreshIfChanged(): Promise<boolean> {
    if ((await this.#store.dataVersion()) === this.#version) return false;
    await this.refresh();
    return true;
  }

  async #switch(groupId: string, userId: string, active: boolean, actor: string): Promise<MembershipUpdate> {
    this.#check(groupId, userId);
    const change = await this.#store.setActive(groupId, userId, active, actor);
    this.#states.set(key(groupId, userId), change.record);
    this.#writes++;
    return {
      groupId,
      userId,
      active: change.record.active,
      changedAt: change.record.changedAt,
      changedBy: change.record.changedBy,
      wasActive: change.previous ?? true,
    };
  }

  async #reload(): Promise<void> {
    for (;;) {
      const writes = this.#writes;
      // The version first: a commit after it but before the list is seen again next time.
      const version = await this.#store.dataVersion();
      const records = await this.#store.list();
      if (writes !== this.#writes) continue; // a local write landed meanwhile; its row may be missing
      this.#states = new Map(records.map((record) => [key(record.groupId, record.userId), record]));
      this.#version = version;
      return;
    }
  }

  #check(groupId: string, userId: string): void {
    const members = this.#groups.get(groupId);
    const problem =
      members === undefined
        ? 'unknown-group'
        : members.has(userId)
          ? undefined
          : this.#users.has(userId)
            ? 'not-member'
            : 'unknown-user';
    if (problem !== undefined) throw new MembershipError(problem, groupId, userId);
  }
}

/**
 * What is wrong with a membership request against the configuration, `undefined` when `userId`
 * is a configured member of `groupId` (checked before touching the database).
 */
export function membershipProblem(
  directory: MembershipDirectory,
  groupId: string,
  userId: string,
): MembershipProblem | undefined {
  const group = directory.groups.find((candidate) => candidate.id === groupId);
  if (group === undefined) return 'unknown-group';
  if (group.members.includes(userId)) return undefined;
  return directory.users.some((user) => user.id === userId) ? 'not-member' : 'unknown-user';
}

function key(groupId: string, userId: string): string {
  return `${groupId}\u0000${userId}`;
}

function describeProblem(problem: MembershipProblem, groupId: string, userId: string): string {
  switch (problem) {
    case 'unknown-group':
      return `unknown group "${groupId}": not in the configuration's groups`;
    case 'unknown-user':
      return `unknown user "${userId}": not in the configuration's users`;
    case 'not-member':
      return `user "${userId}" is not a member of group "${groupId}"`;
  }
}
