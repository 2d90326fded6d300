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
export { SystemClock, type Clock } from './transaction/clock.js';
export type { TimerConfig, ClientTransactionUser } from './transaction/index.js';
