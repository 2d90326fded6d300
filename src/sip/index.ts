/** The SIP stack's public API: the only entry point other folders import. */
export * from './message/index.js';
export * from './ua/index.js';
export {
  TransportLayer,
  type TransportLayerOptions,
  type ListenerConfig,
  type SourceStats,
} from './transport/index.js';
export type { Endpoint, InboundData, Transport, TransportProtocol } from './transport/transport.js';
export { endpointKey, isReliable } from './transport/transport.js';
export { resolveTarget, responseDestination } from './transport/index.js';
export {
  Dialog,
  DialogLayer,
  Uas2xxRetransmitter,
  dialogKey,
  dialogIdOfRequest,
  type DialogOptions,
  type ViaSentBy,
} from './dialog/index.js';
export { newBranch, type ClientTransaction } from './transaction/index.js';
export { SystemClock, type Clock, type TimerHandle } from './transaction/clock.js';
export type { TimerConfig, ClientTransactionUser } from './transaction/index.js';
