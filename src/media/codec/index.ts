export type { AudioDecoder, PayloadFormat } from './audio-codec.js';
export {
  STATIC_PAYLOAD_FORMATS,
  createDecoder,
  isComfortNoise,
  isRecordableEncoding,
  isTelephoneEvent,
} from './codec-registry.js';
export { PcmaDecoder, PcmuDecoder, alawToLinear, linearToAlaw, linearToUlaw, ulawToLinear } from './g711.js';
export { G722Decoder } from './g722.js';
export { G722Encoder } from './g722-encoder.js';
export { L16Decoder } from './l16.js';
export {
  TELEPHONE_EVENT_LENGTH,
  TelephoneEventTracker,
  createTelephoneEventView,
  parseTelephoneEvent,
  writeTelephoneEvent,
  type TelephoneEventView,
} from './telephone-event.js';
