/** The recordings check of `bench/media.bench.ts`: sealed folders, WAV durations, metadata. */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from './media-bench-options.js';

/** WAV duration vs connected time. */
const WAV_TOLERANCE_S = 0.5;

/** Duration of a RIFF or RF64 WAV from its header (data size / byte rate), seconds. */
async function wavSeconds(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const kind = head.toString('latin1', 0, 4);
    if ((kind !== 'RIFF' && kind !== 'RF64') || head.toString('latin1', 8, 12) !== 'WAVE') return NaN;
    let byteRate = 0;
    let dataSize = -1;
    let ds64Data = -1;
    for (let at = 12; at + 8 <= bytesRead;) {
      const id = head.toString('latin1', at, at + 4);
      const size = head.readUInt32LE(at + 4);
      if (id === 'fmt ') byteRate = head.readUInt32LE(at + 8 + 8);
      else if (id === 'ds64') ds64Data = Number(head.readBigUInt64LE(at + 8 + 8));
      else if (id === 'data') {
        dataSize = size === 0xffffffff && ds64Data >= 0 ? ds64Data : size;
        break;
      }
      at += 8 + size + (size & 1);
    }
    if (byteRate === 0 || dataSize < 0) return NaN;
    return dataSize / byteRate;
  } finally {
    await handle.close();
  }
}

/** Folders under `root` (recursively) that hold a `*.sha256` file: the sealed recordings. */
async function sealedFolders(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && e.name.endsWith('.sha256'))) found.push(dir);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk(root);
  return found;
}

export interface RecordingCheck {
  readonly folders: number;
  readonly wavFiles: number;
  readonly complete: number;
  readonly packetsLost: number;
  /** Sum of the recorder's `packets.received` over all legs (compare: packets the generator sent). */
  readonly packetsRecorded: number;
  /** Metadata that names its call by Call-ID (else the WAVs are compared with the range of calls). */
  readonly matched: number;
  readonly wavDeviationMaxS: number;
  /** Recordings whose metadata says `completeness.complete: false` (callrec's own verdict). */
  readonly metadataIncomplete: number;
  /** Kinds of the metadata's completeness problems (numbers and party elided), recordings each. */
  readonly problemKinds: Readonly<Record<string, number>>;
  readonly problems: string[];
}

export async function checkRecordings(
  dataDir: string,
  connected: ReadonlyMap<string, number>,
  waitedS: number,
): Promise<RecordingCheck> {
  const folders = await sealedFolders(join(dataDir, 'recordings'));
  const durations = [...connected.values()];
  const minS = Math.min(...durations);
  const maxS = Math.max(...durations);
  let complete = 0;
  let packetsLost = 0;
  let packetsRecorded = 0;
  let wavFiles = 0;
  let matched = 0;
  let metadataIncomplete = 0;
  const problemKinds: Record<string, number> = {};
  let wavDeviationMaxS = 0;
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < 8) problems.push(text);
  };
  for (const folder of folders) {
    const files = await readdir(folder);
    const wavs = files.filter((f) => f.endsWith('.wav'));
    wavFiles += wavs.length;
    const json = files.find((f) => f.endsWith('.json'));
    let ok = wavs.length > 0 && json !== undefined;
    if (!ok) problem(`${folder}: files ${files.join(', ')}`);
    let expectedS: number | undefined;
    if (json !== undefined) {
      try {
        const meta = JSON.parse(await readFile(join(folder, json), 'utf8')) as {
          callIds?: { caller?: string };
          legs?: Array<{ party?: string; packets?: { lost?: number; received?: number } }>;
          completeness?: { complete?: boolean; problems?: string[] };
        };
        const callId = meta.callIds?.caller;
        if (callId !== undefined && connected.has(callId)) {
          expectedS = connected.get(callId);
          matched += 1;
        }
        const legs = meta.legs ?? [];
        if (legs.length === 0) {
          ok = false;
          problem(`${json}: no legs in the metadata`);
        }
        for (const leg of legs) {
          packetsRecorded += leg.packets?.received ?? 0;
          const lost = leg.packets?.lost;
          if (typeof lost !== 'number') {
            ok = false;
            problem(`${json}: leg ${leg.party} without packets.lost`);
          } else if (lost > 0) {
            packetsLost += lost;
            ok = false;
          }
        }
        if (meta.completeness?.complete === false) {
          ok = false;
          metadataIncomplete += 1;
          const kinds = new Set(
            (meta.completeness.problems ?? []).map((text) =>
              text
                .replace(/^(caller|callee): /, '')
                .replace(/\d+(\.\d+)?/g, 'N')
                .replace(/^[\w-]+\.wav: /, ''),
            ),
          );
          for (const kind of kinds) problemKinds[kind] = (problemKinds[kind] ?? 0) + 1;
          problem(`${json}: ${(meta.completeness.problems ?? []).join('; ')}`);
        }
      } catch (error) {
        ok = false;
        problem(`${json}: ${String(error)}`);
      }
    }
    for (const wav of wavs) {
      const s = await wavSeconds(join(folder, wav));
      const deviation =
        expectedS !== undefined ? Math.abs(s - expectedS) : s < minS ? minS - s : s > maxS ? s - maxS : 0;
      if (!(deviation <= WAV_TOLERANCE_S)) {
        ok = false;
        problem(
          `${wav}: ${s.toFixed(2)} s, connected ${expectedS?.toFixed(2) ?? `${minS.toFixed(2)}..${maxS.toFixed(2)}`} s`,
        );
      }
      if (deviation > wavDeviationMaxS || isNaN(deviation)) wavDeviationMaxS = isNaN(deviation) ? Infinity : deviation;
    }
    if (ok) complete += 1;
  }
  if (folders.length < connected.size)
    problem(`${connected.size - folders.length} recordings missing after ${waitedS.toFixed(0)} s`);
  return {
    folders: folders.length,
    wavFiles,
    complete,
    packetsLost,
    packetsRecorded,
    matched,
    wavDeviationMaxS,
    metadataIncomplete,
    problemKinds,
    problems,
  };
}

/** The check of a --relay-only step. */
export const NO_RECORDINGS: RecordingCheck = {
  folders: 0,
  wavFiles: 0,
  complete: 0,
  packetsLost: 0,
  packetsRecorded: 0,
  matched: 0,
  wavDeviationMaxS: 0,
  metadataIncomplete: 0,
  problemKinds: {},
  problems: [],
};

/** Files under `root` and their total size: changes while callrec is still finalising. */
async function treeState(root: string): Promise<string> {
  let files = 0;
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else {
        files += 1;
        bytes += (await stat(join(dir, e.name)).catch(() => ({ size: 0 }))).size;
      }
    }
  };
  await walk(root);
  return `${files}/${bytes}`;
}

/**
 * Waits until `expected` recordings are sealed, or nothing changed under `recordings/` for 30 s
 * (no more will come), or `capS` passed. Returns the seconds waited.
 */
export async function awaitRecordings(dataDir: string, expected: number, capS: number): Promise<number> {
  const root = join(dataDir, 'recordings');
  const started = performance.now();
  let last = '';
  let lastChange = started;
  for (;;) {
    const count = (await sealedFolders(root)).length;
    const state = `${count} ${await treeState(root)}`;
    const now = performance.now();
    if (state !== last) {
      last = state;
      lastChange = now;
    }
    if (count >= expected || now - lastChange > 30_000 || now - started > capS * 1000) {
      return (now - started) / 1000;
    }
    await sleep(1000);
  }
}
