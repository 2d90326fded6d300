export { SystemClock, type Clock, type TimerHandle } from './clock.js';
export { FakeClock } from './fake-clock.js';
export {
  DEFAULT_TIMER_CONFIG,
  resolveTimerConfig,
  transactionTimers,
  nextTimerA,
  nextCappedInterval,
  type TimerConfig,
  type TransactionTimers,
} from './timers.js';
export { MAGIC_COOKIE, newBranch, hasMagicCookie } from './branch.js';
export { TransactionState, type TransitionTable, type TransactionContext } from './transitions.js';
export type { ClientTransactionUser, ServerTransactionUser } from './transaction-user.js';
export {
  InviteClientTransaction,
  type InviteClientState,
  type InviteClientTransactionInit,
} from './invite-client-transaction.js';
export {
  NonInviteClientTransaction,
  type NonInviteClientState,
  type NonInviteClientTransactionInit,
} from './non-invite-client-transaction.js';
export {
  InviteServerTransaction,
  TRYING_DELAY_MS,
  type InviteServerState,
  type InviteServerTransactionInit,
} from './invite-server-transaction.js';
export {
  NonInviteServerTransaction,
  type NonInviteServerState,
  type NonInviteServerTransactionInit,
} from './non-invite-server-transaction.js';
export {
  TransactionLayer,
  defaultResponseDestination,
  type TransactionLayerOptions,
  type ClientTransaction,
  type ServerTransaction,
} from './transaction-layer.js';
