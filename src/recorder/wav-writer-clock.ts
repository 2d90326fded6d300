/** Something the shared clock ticks (a WavWriter: header patches, stuck-write checks). */
export interface Ticked {
  /** Called every interval / TICKS_PER_INTERVAL ms with performance.now(); must not throw. */
  tick(nowMs: number): void;
}

/** Ticks per interval: a writer's periodic work is due at most this fraction of an interval late. */
const TICKS_PER_INTERVAL = 10;

interface Group {
  readonly timer: NodeJS.Timeout;
  readonly members: Set<Ticked>;
}

const groups = new Map<number, Group>();

/**
 * Registers `target` on the one timer shared by every writer with the same interval (instead of
 * a timer per file); the timer runs while the group has members and never keeps the process
 * alive. Each writer keeps its own due times, which start when it opens, so writers that opened
 * at different moments do their periodic work at different ticks. Returns the unregister function.
 */
export function onSharedTick(intervalMs: number, target: Ticked): () => void {
  let group = groups.get(intervalMs);
  if (group === undefined) {
    const members = new Set<Ticked>();
    const timer = setInterval(
      () => {
        const now = performance.now();
        for (const member of members) member.tick(now);
      },
      Math.max(1, Math.floor(intervalMs / TICKS_PER_INTERVAL)),
    );
    timer.unref();
    group = { timer, members };
    groups.set(intervalMs, group);
  }
  const { members, timer } = group;
  members.add(target);
  return () => {
    if (!members.delete(target) || members.size > 0) return;
    clearInterval(timer);
    if (groups.get(intervalMs)?.members === members) groups.delete(intervalMs);
  };
}

/** Shared timers running now (one per patch interval in use). */
export function sharedTimerCount(): number {
  return groups.size;
}
