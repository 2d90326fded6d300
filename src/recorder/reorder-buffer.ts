import type { RecorderPacket } from './recorder-packet.js';

/** RFC 3550 A.1: a forward jump of this many sequence numbers or more is a restart candidate. */
const MAX_DROPOUT = 3000;
/** RFC 3550 A.1: a packet this far behind the highest sequence number is a restart candidate. */
const MAX_MISORDER = 100;
const SEQ_MOD = 65536;

const NO_BYTES = new Uint8Array(0);

/**
 * What {@link ReorderBuffer.payload} returns: the slot's bytes copied into one buffer shared by
 * every ring, through one cached view per length. The caller reads it at once (decodes it, takes
 * its first byte), so a thousand rings keep no view object per slot.
 */
const scratch = { bytes: new Uint8Array(1500), views: new Map<number, Uint8Array>() };

function scratchView(length: number): Uint8Array {
  if (length > scratch.bytes.length) {
    scratch.bytes = new Uint8Array(length);
    scratch.views.clear();
  }
  let view = scratch.views.get(length);
  if (view === undefined) {
    view = scratch.bytes.subarray(0, length);
    scratch.views.set(length, view);
  }
  return view;
}
const EMPTY = 0;
const HELD = 1;
const PLAYED = 2;
const LOST = 3;

/**
 * What {@link ReorderBuffer.insert} did with a packet. `full`: the packet is further ahead than
 * the ring holds — play out everything held (force) and insert it again. `restart`: it confirms
 * the sequence restart announced by the packet on probation — play out everything held, call
 * {@link ReorderBuffer.restartFromProbation} and insert it again.
 */
export type InsertResult = 'held' | 'duplicate' | 'late' | 'probation' | 'full' | 'restart';

/** Slot sizes grow in steps of this many bytes (a 160-byte G.711 frame takes 160, G.722 20 ms too). */
const SLOT_STEP = 32;

/** Options of {@link ReorderBuffer}. */
export interface ReorderBufferOptions {
  /** Number of packet slots in the ring. */
  readonly capacity: number;
  /**
   * Largest payload a slot stores; bigger payloads are held with `length` -1. Slots start as
   * large as the first payload (rounded up) and grow only when a larger one arrives, so a G.711
   * leg keeps ~5 KiB of payload bytes, not capacity × maxPayloadBytes.
   */
  readonly maxPayloadBytes: number;
  /** How long a packet may wait for the missing packets before it. */
  readonly windowMs: number;
}

/**
 * The jitter window of one leg: a preallocated ring of packet slots indexed by extended sequence
 * number (RFC 3550 A.1 wrap and restart logic). Packets are copied in, so the datagram buffer may
 * be reused, and come out in sequence order through {@link nextPlayable}, which returns a slot
 * whose fields (`timestamp[slot]`, `payload(slot)`...) stay valid until the next insert (the
 * array `payload` returns only until the next `payload` call of any ring). Steady state
 * allocates nothing.
 */
export class ReorderBuffer {
  readonly capacity: number;
  /** Extended sequence number of the packet in each slot. */
  readonly seq: Float64Array;
  readonly payloadType: Uint8Array;
  readonly timestamp: Uint32Array;
  readonly marker: Uint8Array;
  readonly arrivalMs: Float64Array;
  /** Payload bytes per slot, -1 when the payload did not fit. */
  readonly length: Int32Array;
  /** All slots' payload bytes, `#slotBytes` per slot (the last slot is the probation slot); empty until the first packet. */
  #pool: Uint8Array = NO_BYTES;
  #slotBytes = 0;
  readonly #state: Uint8Array;
  readonly #windowMs: number;
  readonly #maxPayloadBytes: number;
  #held = 0;
  #hasSegment = false;
  #starting = false;
  #startUntil = 0;
  #baseExt = 0;
  #highestExt = 0;
  #nextExt = 0;
  #closedExpected = 0;
  #earliest = 0;
  #earliestDirty = false;
  #probation = false;

  constructor(options: ReorderBufferOptions) {
    const slots = options.capacity + 1;
    this.capacity = options.capacity;
    this.#windowMs = options.windowMs;
    this.#maxPayloadBytes = options.maxPayloadBytes;
    this.seq = new Float64Array(slots);
    this.payloadType = new Uint8Array(slots);
    this.timestamp = new Uint32Array(slots);
    this.marker = new Uint8Array(slots);
    this.arrivalMs = new Float64Array(slots);
    this.length = new Int32Array(slots);
    this.#state = new Uint8Array(slots);
  }

  /**
   * The payload copied into `slot`, exactly as long as the packet's (empty if it did not fit), in
   * an array shared by all rings: valid until the next `payload` call.
   */
  payload(slot: number): Uint8Array {
    const length = this.length[slot] ?? -1;
    if (length <= 0) return NO_BYTES;
    const view = scratchView(length);
    const pool = this.#pool;
    const start = slot * this.#slotBytes;
    for (let i = 0; i < length; i++) view[i] = pool[start + i] ?? 0;
    return view;
  }

  /** Packets waiting to be played out. */
  get held(): number {
    return this.#held;
  }

  /** Packets expected from the sequence ranges of all segments so far (RFC 3550 A.3). */
  get expected(): number {
    return this.#closedExpected + (this.#hasSegment ? this.#highestExt - this.#baseExt + 1 : 0);
  }

  /** Copies `packet` into its slot, or tells why not. */
  insert(packet: RecorderPacket): InsertResult {
    const seq16 = packet.sequenceNumber & 0xffff;
    if (!this.#hasSegment) {
      this.#startSegment(seq16, packet.arrivalMs);
      this.#store(this.#nextExt % this.capacity, this.#nextExt, packet);
      return 'held';
    }
    const delta = ((seq16 - (this.#highestExt % SEQ_MOD) + 32768) & 0xffff) - 32768;
    if (delta >= MAX_DROPOUT || delta < -MAX_MISORDER) {
      if (this.#probation && seq16 === ((this.seq[this.capacity] ?? 0) + 1) % SEQ_MOD) return 'restart';
      this.#probation = true;
      this.#store(this.capacity, seq16, packet);
      return 'probation';
    }
    const ext = this.#highestExt + delta;
    const slot = ext % this.capacity;
    if (ext < this.#nextExt) {
      if (this.#starting && this.#highestExt - ext < this.capacity) {
        this.#nextExt = ext;
        this.#baseExt = Math.min(this.#baseExt, ext);
      } else {
        return this.seq[slot] === ext && this.#state[slot] === PLAYED ? 'duplicate' : 'late';
      }
    }
    if (this.seq[slot] === ext && this.#state[slot] === HELD) return 'duplicate';
    if (ext >= this.#nextExt + this.capacity) {
      if (this.#held > 0) return 'full';
      this.#nextExt = ext - this.capacity + 1;
    }
    if (ext > this.#highestExt) this.#highestExt = ext;
    this.#store(slot, ext, packet);
    return 'held';
  }

  /**
   * The slot of the next packet to play, or -1. Missing packets are skipped once the earliest
   * held packet has waited the window (or at once when `force`); `force` empties the buffer.
   */
  nextPlayable(nowMs: number, force: boolean): number {
    if (this.#held === 0) return -1;
    if (this.#starting) {
      if (!force && nowMs < this.#startUntil) return -1;
      this.#starting = false;
    }
    for (;;) {
      const slot = this.#nextExt % this.capacity;
      if (this.#state[slot] === HELD && this.seq[slot] === this.#nextExt) {
        this.#state[slot] = PLAYED;
        this.#held--;
        this.#nextExt++;
        if (this.arrivalMs[slot] === this.#earliest) this.#earliestDirty = true;
        return slot;
      }
      if (!force && nowMs - this.#earliestArrival() < this.#windowMs) return -1;
      this.seq[slot] = this.#nextExt;
      this.#state[slot] = LOST;
      this.#nextExt++;
    }
  }

  /** Forgets the sequence (SSRC change); the next insert starts a new segment. Call when empty. */
  endSegment(): void {
    this.#closedExpected = this.expected;
    this.#hasSegment = false;
    this.#probation = false;
    this.#held = 0;
    this.#state.fill(EMPTY);
  }

  /** Starts a new segment with the packet on probation (after `restart`). Call when empty. */
  restartFromProbation(): void {
    const p = this.capacity;
    this.endSegment();
    this.#startSegment(this.seq[p] ?? 0, this.arrivalMs[p] ?? 0);
    const slot = this.#nextExt % this.capacity;
    this.seq[slot] = this.#nextExt;
    this.payloadType[slot] = this.payloadType[p] ?? 0;
    this.timestamp[slot] = this.timestamp[p] ?? 0;
    this.marker[slot] = this.marker[p] ?? 0;
    this.arrivalMs[slot] = this.arrivalMs[p] ?? 0;
    this.length[slot] = this.length[p] ?? -1;
    this.#copyPayload(slot, this.payload(p));
    this.#hold(slot);
  }

  #startSegment(seq16: number, arrivalMs: number): void {
    // Extended numbers start one cycle up so that a reordered predecessor stays positive.
    this.#baseExt = this.#highestExt = this.#nextExt = seq16 + SEQ_MOD;
    this.#hasSegment = true;
    this.#starting = true;
    this.#startUntil = arrivalMs + this.#windowMs;
  }

  #store(slot: number, ext: number, packet: RecorderPacket): void {
    const bytes = packet.payload.length;
    this.seq[slot] = ext;
    this.payloadType[slot] = packet.payloadType;
    this.timestamp[slot] = packet.timestamp >>> 0;
    this.marker[slot] = packet.marker ? 1 : 0;
    this.arrivalMs[slot] = packet.arrivalMs;
    this.length[slot] = bytes <= this.#maxPayloadBytes ? bytes : -1;
    this.#copyPayload(slot, bytes <= this.#maxPayloadBytes ? packet.payload : NO_BYTES);
    if (slot < this.capacity) this.#hold(slot);
  }

  #copyPayload(slot: number, payload: Uint8Array): void {
    if (payload.length > this.#slotBytes) this.#growSlots(payload.length);
    this.#pool.set(payload, slot * this.#slotBytes);
  }

  /** Re-lays the pool out with larger slots (first packet, or a codec with bigger frames), keeping every slot's payload. */
  #growSlots(bytes: number): void {
    const slotBytes = Math.min(this.#maxPayloadBytes, Math.ceil(bytes / SLOT_STEP) * SLOT_STEP);
    const slots = this.length.length;
    const pool = new Uint8Array(slots * slotBytes);
    for (let slot = 0; slot < slots; slot++) {
      const length = Math.min(this.#slotBytes, Math.max(0, this.length[slot] ?? 0));
      const from = slot * this.#slotBytes;
      pool.set(this.#pool.subarray(from, from + length), slot * slotBytes);
    }
    this.#pool = pool;
    this.#slotBytes = slotBytes;
  }

  #hold(slot: number): void {
    this.#state[slot] = HELD;
    const arrival = this.arrivalMs[slot] ?? 0;
    if (this.#held === 0) {
      this.#earliest = arrival;
      this.#earliestDirty = false;
    } else if (!this.#earliestDirty && arrival < this.#earliest) {
      this.#earliest = arrival;
    }
    this.#held++;
  }

  #earliestArrival(): number {
    if (this.#earliestDirty) {
      let earliest = Infinity;
      for (let i = 0; i < this.capacity; i++) {
        const arrival = this.arrivalMs[i] ?? Infinity;
        if (this.#state[i] === HELD && arrival < earliest) earliest = arrival;
      }
      this.#earliest = earliest;
      this.#earliestDirty = false;
    }
    return this.#earliest;
  }
}
