import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import {
  mergeToStereo,
  repairWavFile,
  wavFileSummary,
  type ChannelMode,
  type RecordedParty,
  type WavFileSummary,
} from '../recorder/index.js';

/** An audio file of a recovered recording as it ends up in the folder. */
export interface RecoveredAudioFile {
  readonly name: string;
  readonly parties: readonly RecordedParty[];
  /** What the file holds; `undefined` when it is not a usable WAV (kept and sealed as it is). */
  readonly wav: WavFileSummary | undefined;
  /** Why the file is not usable. */
  readonly unusable?: string;
  readonly bytes: number;
}

/** What the repair did to one file found after the crash. */
export interface FileRepair {
  readonly name: string;
  /** Whether its header had to be rewritten. */
  readonly repaired: boolean;
  /** Bytes cut off the end (a partial sample frame), or −1 for an added pad byte. */
  readonly bytesCut: number;
  readonly durationMs: number | null;
}

/** The audio of a recording after a crash: repaired, merged as the channel mode asks. */
export interface RecoveredAudio {
  readonly channels: ChannelMode;
  readonly files: readonly RecoveredAudioFile[];
  readonly repairs: readonly FileRepair[];
  /** Audio on disk per recorded party before any merge, ms. */
  readonly partyCoverage: Readonly<Partial<Record<RecordedParty, number>>>;
  /** The longest stretch of audio in the folder, ms of the recording's timeline. */
  readonly coveredMs: number;
  /** The latest modification time of the audio files before the repair (callrec's last write). */
  readonly lastWriteAt: Date | undefined;
  /** Problems for the completeness report (merge impossible or failed, unusable files). */
  readonly problems: readonly string[];
}

interface FoundFile {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly atime: Date;
  readonly mtime: Date;
  wav: WavFileSummary | undefined;
  unusable: string | undefined;
}

/** Stereo a completed merge left may be this much shorter than a leftover input and still hold it. */
const MERGE_COMPLETE_TOLERANCE_MS = 20;

/**
 * Makes the audio files of recording `id` in `dir` usable after a crash (SPEC §9): every WAV's
 * header is rebuilt from the data on disk (a trailing partial frame cut off) while its modification
 * time is kept as evidence of callrec's last write; for `both-stereo` the per-party files are merged
 * (through a temporary, so a merge interrupted by another crash leaves the inputs) and removed, as
 * the normal finalisation does. Files that are not usable WAVs are kept and reported, never deleted.
 * A missing folder is created (the recording is sealed as empty).
 */
export async function recoverAudioFiles(dir: string, id: string, mode: ChannelMode): Promise<RecoveredAudio> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${id}.wav.merging`);
  await rm(temporary, { force: true }); // our own output of an interrupted earlier recovery
  const names = new Set(await readdir(dir));
  const found = async (name: string): Promise<FoundFile | undefined> =>
    names.has(name) ? inspect(dir, name) : undefined;
  const [single, caller, callee] = await Promise.all([
    found(`${id}.wav`),
    found(`${id}-caller.wav`),
    found(`${id}-callee.wav`),
  ]);
  const all = [single, caller, callee].filter((file): file is FoundFile => file !== undefined);
  const lastWriteAt = latest(all.map((file) => file.mtime));
  const repairs = await Promise.all(all.map(repair));
  const partyCoverage: Partial<Record<RecordedParty, number>> = {};
  if (caller?.wav !== undefined) partyCoverage.caller = caller.wav.durationMs;
  if (callee?.wav !== undefined) partyCoverage.callee = callee.wav.durationMs;
  const problems = all.flatMap((file) =>
    file.unusable === undefined ? [] : [`${file.name}: not a usable WAV file (${file.unusable}); kept as it is`],
  );
  const layout = await arrange({ dir, id, mode, temporary, single, caller, callee, lastWriteAt, problems });
  const usable = layout.files.flatMap((file) => (file.wav === undefined ? [] : [file.wav.durationMs]));
  if (layout.files.length === 0) problems.push('no audio file: callrec stopped before any audio reached the disk');
  else if (usable.every((ms) => ms === 0)) problems.push('no audio data: the files hold no sample');
  return {
    channels: layout.channels,
    files: layout.files,
    repairs,
    partyCoverage,
    coveredMs: Math.max(0, ...usable),
    lastWriteAt,
    problems,
  };
}

async function inspect(dir: string, name: string): Promise<FoundFile | undefined> {
  const path = join(dir, name);
  const info = await stat(path);
  if (!info.isFile()) return undefined;
  return { name, path, size: info.size, atime: info.atime, mtime: info.mtime, wav: undefined, unusable: undefined };
}

async function repair(file: FoundFile): Promise<FileRepair> {
  try {
    const result = await repairWavFile(file.path);
    file.wav = wavFileSummary(file.path, result.info);
    if (result.repaired) await utimes(file.path, file.atime, file.mtime);
    return {
      name: file.name,
      repaired: result.repaired,
      bytesCut: result.fileBytesBefore - result.fileBytes,
      durationMs: Math.round(file.wav.durationMs),
    };
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'RECORDING_FORMAT') throw error;
    file.unusable = file.size === 0 ? 'empty' : error.message.replace(/^cannot repair [^:]+: /, '');
    return { name: file.name, repaired: false, bytesCut: 0, durationMs: null };
  }
}

interface ArrangeInput {
  readonly dir: string;
  readonly id: string;
  readonly mode: ChannelMode;
  readonly temporary: string;
  readonly single: FoundFile | undefined;
  readonly caller: FoundFile | undefined;
  readonly callee: FoundFile | undefined;
  readonly lastWriteAt: Date | undefined;
  readonly problems: string[];
}

/** Which files the recording consists of, merging per-party files for `both-stereo`. */
async function arrange(input: ArrangeInput): Promise<{ channels: ChannelMode; files: RecoveredAudioFile[] }> {
  const { single, caller, callee, mode, problems } = input;
  const asFile = (file: FoundFile, parties: readonly RecordedParty[]): RecoveredAudioFile => ({
    name: file.name,
    parties,
    wav: file.wav,
    bytes: file.wav?.fileBytes ?? file.size,
    ...(file.unusable === undefined ? {} : { unusable: file.unusable }),
  });
  const singleParties = (): readonly RecordedParty[] =>
    single?.wav?.channels === 2 ? ['caller', 'callee'] : mode === 'callee' ? ['callee'] : ['caller'];

  if (caller !== undefined && callee !== undefined) {
    if (mode === 'both-stereo' && caller.wav !== undefined && callee.wav !== undefined) {
      const merged = await merge(input, caller, callee);
      if (merged !== undefined) return { channels: 'both-stereo', files: [merged] };
    } else if (mode === 'both-stereo') problems.push('stereo merge impossible: a party has no usable file');
    const files = [asFile(caller, ['caller']), asFile(callee, ['callee'])];
    if (single !== undefined) {
      problems.push(`${single.name}: left by a stereo merge that did not finish; kept beside the per-party files`);
      files.push(asFile(single, singleParties()));
    }
    return { channels: 'both-separate', files };
  }
  const leftover = caller ?? callee;
  if (leftover === undefined) {
    if (single === undefined) return { channels: mode, files: [] };
    const parties = singleParties();
    const channels: ChannelMode = parties.length === 2 ? 'both-stereo' : (parties[0] ?? 'caller');
    return { channels, files: [asFile(single, parties)] };
  }
  const party: RecordedParty = leftover === caller ? 'caller' : 'callee';
  if (mergeFinished(single, leftover)) {
    // The merge had finished and the removal of its inputs was cut short: drop the twin's leftover,
    // as the finalisation would have (its audio is one channel of the complete stereo file).
    await rm(leftover.path);
    return { channels: 'both-stereo', files: single === undefined ? [] : [asFile(single, ['caller', 'callee'])] };
  }
  if (mode === 'both-stereo') problems.push('stereo merge impossible: a party has no file');
  const files = [asFile(leftover, [party])];
  if (single !== undefined) files.push(asFile(single, singleParties()));
  return { channels: single === undefined && mode !== 'both-stereo' ? party : 'both-separate', files };
}

function mergeFinished(single: FoundFile | undefined, leftover: FoundFile): boolean {
  const stereo = single?.wav;
  if (stereo === undefined || stereo.channels !== 2) return false;
  const mono = leftover.wav;
  return mono !== undefined && stereo.durationMs + MERGE_COMPLETE_TOLERANCE_MS >= mono.durationMs;
}

/**
 * Merges into a temporary, renames it over `<id>.wav` (replacing what an interrupted merge left)
 * and removes the inputs; `undefined` when the merge failed (the inputs stay).
 */
async function merge(
  input: ArrangeInput,
  caller: FoundFile,
  callee: FoundFile,
): Promise<RecoveredAudioFile | undefined> {
  const name = `${input.id}.wav`;
  const out = join(input.dir, name);
  let wav: WavFileSummary;
  try {
    wav = await mergeToStereo({ left: caller.path, right: callee.path, out: input.temporary });
  } catch (error) {
    await rm(input.temporary, { force: true });
    input.problems.push(
      `stereo merge failed, per-party files kept: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
  if (input.lastWriteAt !== undefined) await utimes(input.temporary, input.lastWriteAt, input.lastWriteAt);
  await rename(input.temporary, out);
  await Promise.all([rm(caller.path), rm(callee.path)]);
  return { name, parties: ['caller', 'callee'], wav: { ...wav, path: out }, bytes: wav.fileBytes };
}

function latest(dates: readonly Date[]): Date | undefined {
  return dates.reduce<Date | undefined>((max, date) => (max === undefined || date > max ? date : max), undefined);
}
