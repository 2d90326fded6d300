/** SDP offer/answer handling for media anchoring (pure: no sockets, no SIP). */
export {
  parseSessionDescription,
  type MediaDirection,
  type SdpAudio,
  type SdpOrigin,
  type SdpPayloadFormat,
  type SdpResult,
  type SdpSummary,
} from './session-description.js';
export { anchorSdp, type AnchorOptions, type AnchoredSdp } from './rewrite.js';
export { SdpOriginState, type SdpOriginLine, type SdpOriginStateOptions } from './sdp-origin-state.js';
