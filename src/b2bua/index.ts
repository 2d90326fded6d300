export { PeerTable } from './routing.js';
export type { PeerDefinition, PeerSide, PeerTableOptions } from './routing.js';
export { B2bua, type B2buaOptions, type Capabilities } from './b2bua.js';
export type { SignallingPort } from './call-context.js';
