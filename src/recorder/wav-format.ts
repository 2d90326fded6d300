import { AppError } from '../errors.js';

/**
 * WAV headers: RIFF WAVE (Microsoft Multimedia Standards Update 1994) and RF64 (EBU Tech 3306).
 * Our own files are laid out so they can become RF64 in place:
 *
 *   RIFF <size> WAVE | JUNK 28 (ds64 reserve) | fmt  16/18 | [fact 4 for G.711] | data <size> ...
 *
 * EBU Tech 3306 §3: conversion replaces "RIFF" by "RF64" and "JUNK" by "ds64" (riffSize, dataSize,
 * sampleCount as 64-bit, tableLength 0) and sets the 32-bit RIFF and data sizes to 0xFFFFFFFF.
 */

/** Sample encodings the recorder writes and reads. */
export type WavFormat = 'pcm16' | 'alaw' | 'mulaw';

/** Container magic: classic RIFF (≤ 4 GiB) or RF64. */
export type WavContainer = 'RIFF' | 'RF64';

/** WAVE_FORMAT_* tags of the `fmt ` chunk. */
export const WAVE_FORMAT_TAG: Readonly<Record<WavFormat, number>> = { pcm16: 1, alaw: 6, mulaw: 7 };

/** Largest value a 32-bit RIFF size field can hold; RF64 writes it as "see ds64". */
export const RIFF_SIZE_LIMIT = 0xffffffff;

/** Payload size of the JUNK reserve / ds64 chunk: riffSize, dataSize, sampleCount (u64) + tableLength (u32). */
const DS64_PAYLOAD_BYTES = 28;
const U32 = 0x1_0000_0000;

/** Where the size fields of a header live, so they can be patched in place. */
export interface WavLayout {
  /** Offset of the `data` chunk payload (= header length for our files). */
  readonly dataOffset: number;
  /** Offset of the JUNK reserve or ds64 chunk id; undefined if the file cannot become RF64 in place. */
  readonly ds64Offset: number | undefined;
  /** Offset of the `fact` chunk id, if any. */
  readonly factOffset: number | undefined;
}

/** Options of {@link buildWavHeader}. */
export interface WavHeaderOptions {
  readonly format: WavFormat;
  /** 1 (mono) or 2 (stereo, interleaved). */
  readonly channels: number;
  /** Frames per second, any positive integer. */
  readonly sampleRate: number;
  /** Bytes of sample data that follow the header. @default 0 */
  readonly dataBytes?: number;
  /** Write an RF64 header. @default true only when the sizes do not fit 32 bits */
  readonly rf64?: boolean;
}

/** The sizes written by {@link setWavSizes}. */
export interface WavSizes {
  /** Bytes of sample data (without the pad byte). */
  readonly dataBytes: number;
  /** Sample frames (fact chunk and ds64 sampleCount). */
  readonly frames: number;
  /** Write the RF64 form (requires a ds64 reserve). */
  readonly rf64: boolean;
}

/** What {@link parseWavHeader} learned from a header. */
export interface WavInfo extends WavLayout {
  readonly container: WavContainer;
  readonly format: WavFormat;
  readonly formatTag: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  /** Bytes per frame (all channels). */
  readonly blockAlign: number;
  readonly byteRate: number;
  /** Declared RIFF size (from ds64 in RF64): file length − 8 when consistent. */
  readonly riffSize: number;
  /** Declared data chunk size (from ds64 in RF64). */
  readonly dataBytes: number;
  /** Whole frames in the declared data. */
  readonly frames: number;
  /** The file length given to the parser, if any. */
  readonly fileSize: number | undefined;
  /**
   * With a file size: whether the RIFF size equals the file length − 8 and the declared data (with
   * its pad byte) fits the file as whole frames. Undefined without a file size.
   */
  readonly sizesMatch: boolean | undefined;
}

/** Result of {@link parseWavHeader}; `truncated` means more header bytes might help. */
export type WavParseResult =
  | { readonly ok: true; readonly info: WavInfo }
  | { readonly ok: false; readonly error: AppError; readonly truncated: boolean };

/** Bytes per sample of one channel. */
export function bytesPerSample(format: WavFormat): number {
  return format === 'pcm16' ? 2 : 1;
}

/** The byte a silent sample encodes to (A-law 0xD5, μ-law 0xFF, PCM 0). */
export function silenceByte(format: WavFormat): number {
  return format === 'alaw' ? 0xd5 : format === 'mulaw' ? 0xff : 0;
}

/** Layout of the header {@link buildWavHeader} writes for this format. */
export function wavHeaderLayout(format: WavFormat): WavLayout {
  const fmtBytes = format === 'pcm16' ? 16 : 18; // G.711: WAVEFORMATEX with cbSize = 0
  const factBytes = format === 'pcm16' ? 0 : 12; // fact chunk: required for non-PCM formats
  const fmtOffset = 12 + 8 + DS64_PAYLOAD_BYTES;
  const factOffset = fmtOffset + 8 + fmtBytes;
  return {
    dataOffset: factOffset + factBytes + 8,
    ds64Offset: 12,
    factOffset: factBytes === 0 ? undefined : factOffset,
  };
}

/** Builds a complete header for `dataBytes` of sample data (RIFF, or RF64 when asked or needed). */
export function buildWavHeader(options: WavHeaderOptions): Buffer {
  const { format, channels, sampleRate } = options;
  if (!Number.isInteger(channels) || channels < 1 || channels > 2) throw new RangeError(`channels ${channels}`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1) throw new RangeError(`sampleRate ${sampleRate}`);
  const layout = wavHeaderLayout(format);
  const header = Buffer.alloc(layout.dataOffset);
  const blockAlign = channels * bytesPerSample(format);
  header.write('RIFF', 0, 'latin1');
  header.write('WAVE', 8, 'latin1');
  header.write('JUNK', 12, 'latin1');
  header.writeUInt32LE(DS64_PAYLOAD_BYTES, 16);
  let p = 12 + 8 + DS64_PAYLOAD_BYTES;
  header.write('fmt ', p, 'latin1');
  header.writeUInt32LE(format === 'pcm16' ? 16 : 18, p + 4);
  header.writeUInt16LE(WAVE_FORMAT_TAG[format], p + 8);
  header.writeUInt16LE(channels, p + 10);
  header.writeUInt32LE(sampleRate, p + 12);
  header.writeUInt32LE(sampleRate * blockAlign, p + 16);
  header.writeUInt16LE(blockAlign, p + 20);
  header.writeUInt16LE(bytesPerSample(format) * 8, p + 22);
  if (layout.factOffset !== undefined) header.write('fact', layout.factOffset, 'latin1');
  if (layout.factOffset !== undefined) header.writeUInt32LE(4, layout.factOffset + 4);
  p = layout.dataOffset - 8;
  header.write('data', p, 'latin1');
  const dataBytes = options.dataBytes ?? 0;
  const rf64 = options.rf64 ?? layout.dataOffset - 8 + dataBytes + (dataBytes & 1) > RIFF_SIZE_LIMIT;
  setWavSizes(header, layout, { dataBytes, frames: Math.floor(dataBytes / blockAlign), rf64 });
  return header;
}

/**
 * Writes the size fields into `header` (the first `layout.dataOffset` bytes of the file), the data
 * chunk taken as the last chunk. RF64 turns the reserve into ds64; RIFF leaves a JUNK reserve.
 */
export function setWavSizes(header: Buffer, layout: WavLayout, sizes: WavSizes): void {
  const riffSize = layout.dataOffset - 8 + sizes.dataBytes + (sizes.dataBytes & 1);
  const d = layout.ds64Offset;
  if (sizes.rf64) {
    if (d === undefined) throw new RangeError('no ds64 reserve: cannot write RF64 in place');
    header.write('RF64', 0, 'latin1');
    header.writeUInt32LE(RIFF_SIZE_LIMIT, 4);
    header.write('ds64', d, 'latin1');
    writeU64(header, d + 8, riffSize);
    writeU64(header, d + 16, sizes.dataBytes);
    writeU64(header, d + 24, sizes.frames);
    header.writeUInt32LE(0, d + 32); // tableLength: no other chunk exceeds 4 GiB
    header.writeUInt32LE(RIFF_SIZE_LIMIT, layout.dataOffset - 4);
  } else {
    if (riffSize > RIFF_SIZE_LIMIT) throw new RangeError(`RIFF size ${riffSize} needs RF64`);
    header.write('RIFF', 0, 'latin1');
    header.writeUInt32LE(riffSize, 4);
    if (d !== undefined) {
      header.write('JUNK', d, 'latin1');
      header.fill(0, d + 8, d + 8 + DS64_PAYLOAD_BYTES);
    }
    header.writeUInt32LE(sizes.dataBytes, layout.dataOffset - 4);
  }
  if (layout.factOffset !== undefined) {
    header.writeUInt32LE(Math.min(sizes.frames, RIFF_SIZE_LIMIT), layout.factOffset + 8);
  }
}

/**
 * Parses a header from the first bytes of a file (4 KiB suffice for ours): RIFF or RF64 with ds64,
 * skipping unknown chunks (LIST, JUNK, fact, bext, ...) up to `data`. Never throws.
 * @param fileSize the file's length, to check the declared sizes against
 */
export function parseWavHeader(buf: Uint8Array, fileSize?: number): WavParseResult {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12) return fail('shorter than a RIFF header', true);
  const magic = b.toString('latin1', 0, 4);
  if ((magic !== 'RIFF' && magic !== 'RF64') || b.toString('latin1', 8, 12) !== 'WAVE') {
    return fail('not a RIFF/RF64 WAVE file', false);
  }
  const container: WavContainer = magic;
  let riffSize = b.readUInt32LE(4);
  let ds64: { riff: number; data: number } | undefined;
  let ds64Offset: number | undefined;
  let factOffset: number | undefined;
  let fmt: Fmt | undefined;
  let p = 12;
  for (;;) {
    if (p + 8 > b.length) return fail('header ends before the data chunk', true);
    const id = b.toString('latin1', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    if (id === 'data') {
      if (fmt === undefined) return fail('data chunk before fmt chunk', false);
      let dataBytes = size;
      if (container === 'RF64') {
        if (ds64 === undefined) return fail('RF64 without a ds64 chunk', false);
        if (riffSize === RIFF_SIZE_LIMIT) riffSize = ds64.riff;
        if (size === RIFF_SIZE_LIMIT) dataBytes = ds64.data;
      }
      return finish(container, fmt, riffSize, dataBytes, { dataOffset: p + 8, ds64Offset, factOffset }, fileSize);
    }
    if (size === RIFF_SIZE_LIMIT && container === 'RF64')
      return fail(`chunk ${JSON.stringify(id)} sized by ds64 table`, false);
    if (p + 8 + size > b.length && (id === 'ds64' || id === 'fmt ' || id === 'fact')) {
      return fail(`${id} chunk cut short`, true);
    }
    if (id === 'ds64' && p === 12 && size >= 24) {
      ds64 = { riff: readU64(b, p + 8), data: readU64(b, p + 16) };
      ds64Offset = p;
    } else if (id === 'JUNK' && p === 12 && size >= DS64_PAYLOAD_BYTES && container === 'RIFF') {
      ds64Offset = p; // EBU Tech 3306 reserve for an in-place RF64 conversion
    } else if (id === 'fmt ') {
      if (size < 16) return fail('fmt chunk shorter than 16 bytes', false);
      let tag = b.readUInt16LE(p + 8);
      // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag
      if (tag === 0xfffe && size >= 40) tag = b.readUInt16LE(p + 8 + 24);
      fmt = {
        tag,
        channels: b.readUInt16LE(p + 10),
        rate: b.readUInt32LE(p + 12),
        byteRate: b.readUInt32LE(p + 16),
        align: b.readUInt16LE(p + 20),
        bits: b.readUInt16LE(p + 22),
      };
    } else if (id === 'fact' && size >= 4) {
      factOffset = p;
    }
    p += 8 + size + (size & 1); // RIFF: chunks are padded to an even length
  }
}

type Fmt = { tag: number; channels: number; rate: number; byteRate: number; align: number; bits: number };

function finish(
  container: WavContainer,
  fmt: Fmt,
  riffSize: number,
  dataBytes: number,
  layout: WavLayout,
  fileSize: number | undefined,
): WavParseResult {
  const format = formatOf(fmt.tag, fmt.bits);
  if (format === undefined) return fail(`unsupported format tag ${fmt.tag} with ${fmt.bits} bits`, false);
  if (fmt.channels < 1 || fmt.rate < 1) return fail(`invalid fmt: ${fmt.channels} channels at ${fmt.rate} Hz`, false);
  if (fmt.align !== fmt.channels * bytesPerSample(format)) return fail(`invalid block align ${fmt.align}`, false);
  let sizesMatch: boolean | undefined;
  if (fileSize !== undefined) {
    sizesMatch =
      riffSize + 8 === fileSize &&
      layout.dataOffset + dataBytes + (dataBytes & 1) <= fileSize &&
      dataBytes % fmt.align === 0;
  }
  const info: WavInfo = {
    ...layout,
    container,
    format,
    formatTag: fmt.tag,
    channels: fmt.channels,
    sampleRate: fmt.rate,
    bitsPerSample: fmt.bits,
    blockAlign: fmt.align,
    byteRate: fmt.byteRate,
    riffSize,
    dataBytes,
    frames: Math.floor(dataBytes / fmt.align),
    fileSize,
    sizesMatch,
  };
  return { ok: true, info };
}

function formatOf(tag: number, bits: number): WavFormat | undefined {
  if (tag === WAVE_FORMAT_TAG.pcm16 && bits === 16) return 'pcm16';
  if (tag === WAVE_FORMAT_TAG.alaw && bits === 8) return 'alaw';
  if (tag === WAVE_FORMAT_TAG.mulaw && bits === 8) return 'mulaw';
  return undefined;
}

function fail(message: string, truncated: boolean): WavParseResult {
  return { ok: false, error: new AppError('RECORDING_FORMAT', `WAV header: ${message}`), truncated };
}

function writeU64(b: Buffer, offset: number, value: number): void {
  b.writeUInt32LE(value % U32, offset);
  b.writeUInt32LE(Math.floor(value / U32), offset + 4);
}

function readU64(b: Buffer, offset: number): number {
  return b.readUInt32LE(offset) + b.readUInt32LE(offset + 4) * U32;
}
