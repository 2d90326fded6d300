/**
 * Where a leg recorder writes its audio: mono 16-bit PCM frames at the leg's output sample rate,
 * strictly forward in time (the WAV writer implements it). Both methods are called on the packet
 * path, so implementations buffer and must not block.
 */
export interface PcmSink {
  /** Appends `count` frames taken from `pcm` starting at `offset`; the array is reused afterwards. */
  writeSamples(pcm: Int16Array, offset: number, count: number): void;
  /** Appends `frames` frames of digital silence. */
  writeSilence(frames: number): void;
}
