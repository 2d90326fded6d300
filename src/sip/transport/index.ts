export {
  endpointKey,
  isReliable,
  type Endpoint,
  type InboundData,
  type Transport,
  type TransportHandlers,
  type TransportProtocol,
} from './transport.js';
export { ipFamily, normalizeIp, sameIp } from './ip-address.js';
export {
  StreamFramer,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_HEADER_BYTES,
  type FramerResult,
  type StreamFramerOptions,
} from './stream-framer.js';
export {
  createUdpTransport,
  DEFAULT_MAX_DATAGRAM_BYTES,
  DEFAULT_RECEIVE_BUFFER_BYTES,
  type UdpTransportOptions,
} from './udp-transport.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_QUEUED_BYTES,
  type StreamTransport,
  type StreamTransportOptions,
} from './stream-transport.js';
export { createTcpTransport, type TcpTransportOptions } from './tcp-transport.js';
export { createTlsTransport, type TlsSettings, type TlsTransportOptions } from './tls-transport.js';
export {
  LoopNetwork,
  LoopTransport,
  createSeededRandom,
  type LoopClock,
  type LoopConditions,
  type LoopCounters,
  type LoopDelay,
  type LoopNetworkOptions,
  type LoopPacket,
  type LoopTransportOptions,
} from './loop-transport.js';
export { stampReceived, responseDestination, responseReconnectDestination, defaultPort } from './via-received.js';
export {
  resolveTarget,
  uriTransport,
  orderSrv,
  type HostLookup,
  type ResolveOptions,
  type ResolvedAddress,
  type SrvLookup,
  type SrvRecord,
} from './resolve.js';
export {
  TransportLayer,
  createTransportLayer,
  type ListenerConfig,
  type ListenerFactory,
  type SourceStats,
  type TransportLayerOptions,
} from './transport-layer.js';
