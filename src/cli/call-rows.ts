import type { CallObserver, CallSummary } from '../b2bua/index.js';
import type { Logger } from '../observability/index.js';
import type { SqliteCallStore } from '../store/index.js';
import type { RecordingPolicy } from './recording-policy.js';

/** The B2BUA's call observer that writes the protocol database's `calls` rows. */
export interface CallRows extends CallObserver {
  /** Resolves when every row write issued so far has finished (at shutdown). */
  flush(): Promise<void>;
}

/**
 * Writes a row when a call starts and completes it when the call ends. Writes never block or fail
 * a call: they run in the background (the database queues them in order) and errors are logged
 * with the call id.
 */
export function createCallRows(store: SqliteCallStore, policy: () => RecordingPolicy, logger: Logger): CallRows {
  const pending = new Set<Promise<unknown>>();
  const track = (call: CallSummary, what: string, write: Promise<unknown>): void => {
    const tracked = write
      .catch((error: unknown) => {
        logger.error(
          { call: call.id, err: error instanceof Error ? error.message : String(error) },
          `call row ${what} failed`,
        );
      })
      .finally(() => pending.delete(tracked));
    pending.add(tracked);
  };
  return {
    started: (call) => {
      const { caller, callee } = policy().parties(call.facts);
      track(
        call,
        'insert',
        store.recordCallStart({
          id: call.id,
          direction: call.direction,
          callIdA: call.callIdA,
          // A call refused before its callee leg existed has no second Call-ID
          callIdB: call.callIdB === '' ? null : call.callIdB,
          caller,
          callee,
          decisionProfile: call.decision.record ? call.decision.profileId : (call.decision.refuse?.profileId ?? null),
          decisionReason: call.decision.reason,
          startedAt: call.startedAt.toISOString(),
        }),
      );
    },
    ended: (call) => {
      track(
        call,
        'update',
        store.recordCallEnd(call.id, {
          answeredAt: call.answeredAt?.toISOString() ?? null,
          endedAt: (call.endedAt ?? new Date()).toISOString(),
          endedBy: call.endedBy ?? 'callrec',
          finalStatus: call.finalStatus ?? 0,
          reason: call.endReason,
        }),
      );
    },
    flush: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
