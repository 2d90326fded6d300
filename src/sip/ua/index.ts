export { UserAgentCore, type UserAgentCoreOptions, type CoreEvent, type CoreStats } from './user-agent-core.js';
export type { IncomingRequest, RespondOptions, SourceVerdict } from './incoming-request.js';
export { checkRequest, addressesElement, type RequestChecks, type RequestRejection } from './request-checks.js';
