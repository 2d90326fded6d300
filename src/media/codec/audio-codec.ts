/**
 * The contract between RTP payloads and PCM: every recordable codec decodes one RTP payload into
 * 16-bit linear PCM at its own sample rate. Decoders are stateful (G.722 carries ADPCM state), so
 * each recorded stream owns one instance.
 */
export interface AudioDecoder {
  /** Encoding name as in SDP rtpmap (upper case), e.g. "PCMU", "G722", "L16". */
  readonly encoding: string;
  /** PCM samples per second produced by decode() (G.722: 16000 although its RTP clock is 8000). */
  readonly sampleRate: number;
  /** RTP timestamp units per second (RFC 3551 §4.5.2: 8000 for G.722). */
  readonly clockRate: number;
  /** Number of PCM samples decode() will produce for a payload of this many bytes. */
  samplesFor(payloadBytes: number): number;
  /**
   * Decodes `payload` into `out` starting at `outOffset`; returns the number of samples written.
   * Must not allocate. `out` has room for samplesFor(payload.length) samples.
   */
  decode(payload: Uint8Array, out: Int16Array, outOffset: number): number;
  /** Forgets inter-packet state (after loss or an SSRC change). */
  reset(): void;
}

/** What the SDP said about one payload type. */
export interface PayloadFormat {
  readonly payloadType: number;
  /** Upper-case encoding name, e.g. "PCMA", "TELEPHONE-EVENT", "CN". */
  readonly encoding: string;
  readonly clockRate: number;
  readonly channels: number;
}
