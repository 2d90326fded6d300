import type { AudioDecoder, PayloadFormat } from '../media/codec/index.js';

/** Creates the decoder of a payload format, or undefined when it cannot be recorded. */
export type DecoderFactory = (format: PayloadFormat) => AudioDecoder | undefined;

/** RFC 4733 events: never audio. */
export const TELEPHONE_EVENT = 'TELEPHONE-EVENT';
/** RFC 3389 comfort noise: recorded as silence. */
export const COMFORT_NOISE = 'CN';
const DEFAULT_SAMPLE_RATE = 8000;

/** The output rate of a leg: the rate of the first recordable format in SDP order (else 8000). */
export function chooseOutputSampleRate(
  formats: ReadonlyMap<number, PayloadFormat>,
  decoderFor: DecoderFactory,
): number {
  for (const format of formats.values()) {
    if (format.encoding === TELEPHONE_EVENT || format.encoding === COMFORT_NOISE) continue;
    const decoder = decoderFor(format);
    if (decoder !== undefined) return decoder.sampleRate;
  }
  return DEFAULT_SAMPLE_RATE;
}

/** The payload formats of one leg and their decoders, one per payload type, made on first use. */
export class LegDecoders {
  readonly #factory: DecoderFactory;
  readonly #onError: (error: unknown) => void;
  readonly #cache = new Map<number, AudioDecoder | null>();
  #formats: ReadonlyMap<number, PayloadFormat>;

  constructor(formats: ReadonlyMap<number, PayloadFormat>, factory: DecoderFactory, onError: (error: unknown) => void) {
    this.#formats = formats;
    this.#factory = factory;
    this.#onError = onError;
  }

  /** The negotiated format of a payload type. */
  format(payloadType: number): PayloadFormat | undefined {
    return this.#formats.get(payloadType);
  }

  /** The decoder of `format`, or null when it has none (a throwing factory counts as none). */
  decoder(format: PayloadFormat): AudioDecoder | null {
    let decoder = this.#cache.get(format.payloadType);
    if (decoder === undefined) {
      try {
        decoder = this.#factory(format) ?? null;
      } catch (error) {
        this.#onError(error);
        decoder = null;
      }
      this.#cache.set(format.payloadType, decoder);
    }
    return decoder;
  }

  /** Replaces the formats (re-INVITE); decoders are made afresh. */
  setFormats(formats: ReadonlyMap<number, PayloadFormat>): void {
    this.#formats = formats;
    this.#cache.clear();
  }

  /** {@link chooseOutputSampleRate} for these formats, keeping the decoders it makes. */
  outputSampleRate(): number {
    return chooseOutputSampleRate(this.#formats, (format) => this.decoder(format) ?? undefined);
  }
}
