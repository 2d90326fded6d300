/** The media folder's public entry: RTP relay (ports, sessions), codecs and RTP packet views. */
export { PortAllocator, type PortAllocatorOptions, type PortPair } from './relay/port-allocator.js';
export {
  RelayLeg,
  type LegName,
  type RelayLegOptions,
  type RelayLegStats,
  type RemoteDirection,
  type RemoteMedia,
} from './relay/relay-leg.js';
export { RelaySession, type RelaySessionOptions, type RelaySessionStats } from './relay/relay-session.js';

// Codecs and RTP packet parsing (maintained with src/media/codec and src/media/rtp).
export * from './codec/index.js';
export * from './rtp/index.js';

// Announcements and DTMF (issue "Announcements, consent, pause/resume").
export {
  AudioClips,
  PACKET_MS,
  type AudioClipsOptions,
  decodeWav,
  encodeClip,
  isPlayableFormat,
  resample,
  synthesizeTones,
  type ClipFiles,
  type EncodedClip,
  type PcmClip,
  type ToneStep,
} from './audio-clip.js';
export {
  Playback,
  SYSTEM_SCHEDULER,
  playClip,
  type PlayOptions,
  type PlaybackEnd,
  type PlayerScheduler,
} from './player.js';
export {
  DigitSequence,
  RtpDtmfDetector,
  digitOfEvent,
  parseDigit,
  parseInfoDigit,
  type DigitListener,
  type DigitSequenceOptions,
  type DtmfDigit,
} from './dtmf.js';
