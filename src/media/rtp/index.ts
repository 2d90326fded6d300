export {
  RTP_FIXED_HEADER_LENGTH,
  RTP_VERSION,
  createRtpHeaderView,
  isRtcp,
  parseRtp,
  readCsrc,
  writeRtpHeader,
  type RtpHeaderFields,
  type RtpHeaderView,
} from './rtp-packet.js';
