/** Command-line options and fixed addresses of `bench/media.bench.ts`. */
import { parseArgs } from 'node:util';

export const TRUNK_IP = '127.0.0.1';
export const PBX_IP = '127.0.0.3';
export const CALLED_NUMBER = '+4930123456500';
/** Calls one generator process carries with its lateness in single milliseconds (measured). */
export const GENERATOR_CALLS = 250;

export interface MediaBenchOptions {
  /** The N of each step (`--calls`). */
  readonly ladder: readonly number[];
  readonly seconds: number;
  readonly rate: number;
  /** `--generators`: `auto` or a number of processes. */
  readonly generators: string;
  readonly channels: string;
  readonly baselineSeconds: number;
  readonly mediaPorts: [number, number];
  readonly keep: boolean;
  readonly refine: number;
  /** No recording profile: the relay's own cost (no recordings expected or checked). */
  readonly relayOnly: boolean;
}

/** Parses `process.argv`; throws the usage on invalid values. */
export function parseMediaBenchOptions(): MediaBenchOptions {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '50,200,500,800' },
      seconds: { type: 'string', default: '60' },
      rate: { type: 'string', default: '100' },
      generators: { type: 'string', default: 'auto' },
      channels: { type: 'string', default: 'both-stereo' },
      'baseline-seconds': { type: 'string', default: '10' },
      'media-ports': { type: 'string', default: '10000-19999' },
      refine: { type: 'string', default: '0' },
      'relay-only': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const ladder = (values.calls ?? '')
    .split(',')
    .map((v) => Number(v.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const mediaPorts = (values['media-ports'] ?? '').split('-').map(Number) as [number, number];
  if (ladder.length === 0 || !(seconds > 0) || !(rate > 0) || mediaPorts.length !== 2 || mediaPorts.some(isNaN)) {
    throw new Error('usage: --calls 50,200 --seconds 60 --rate 100 --media-ports 10000-19999');
  }
  return {
    ladder,
    seconds,
    rate,
    generators: values.generators ?? 'auto',
    channels: values.channels ?? 'both-stereo',
    baselineSeconds: Number(values['baseline-seconds']),
    mediaPorts,
    keep: values.keep ?? false,
    refine: Math.max(0, Number(values.refine)),
    relayOnly: values['relay-only'] ?? false,
  };
}

/** Generator processes for a step of `n` calls. */
export function generatorsFor(options: MediaBenchOptions, n: number): number {
  if (options.generators === 'auto') return n > GENERATOR_CALLS ? 2 : 1;
  return Math.max(1, Number(options.generators) || 1);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** E.164 caller number of bench call i (its last 7 digits are i, the UAS's fallback key). */
export function callerNumber(i: number): string {
  return `+49170${String(i).padStart(7, '0')}`;
}
