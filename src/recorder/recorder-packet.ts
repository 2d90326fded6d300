/**
 * One RTP packet as the relay forks it to a leg recorder. `payload` is a view into the received
 * datagram, valid only during the call (the recorder copies what it keeps).
 */
export interface RecorderPacket {
  readonly payloadType: number;
  /** 16-bit RTP sequence number. */
  readonly sequenceNumber: number;
  /** 32-bit RTP timestamp. */
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
  /** Arrival instant in monotonic milliseconds, on the clock of the call's RecordingClock. */
  readonly arrivalMs: number;
}
