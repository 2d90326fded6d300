export type * from './types.js';
export { parseMessage, DEFAULT_PARSE_LIMITS, type ParseOptions } from './parser.js';
export { serializeMessage, startLineText } from './serializer.js';
export {
  buildRequest,
  buildResponse,
  createResponse,
  withHeaders,
  withRequestUri,
  getHeader,
  getHeaderValues,
  requestUriText,
  type HeaderInput,
  type HeaderEdit,
  type CreateResponseOptions,
} from './build.js';
export { formatNameAddr, formatContact, formatVia } from './format.js';
export { parseUri, formatUri, isSipUri, isTelUri, sipUri, classifyHost, parseHostPort, percentDecode } from './uri.js';
export { parseNameAddr } from './name-addr.js';
export { parseVia } from './via.js';
export { parseCSeq } from './header-values.js';
export { canonicalHeaderName, sameHeaderName, isListHeader } from './header-names.js';
export { reasonPhrase } from './reason-phrases.js';
export { isToken } from './grammar.js';
export { createNon2xxAck, createCancel } from './requests.js';
