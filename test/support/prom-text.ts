/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): `# HELP` and `# TYPE` lines,
 * samples with escaped label values, grouping of a family's lines. Tests use it to prove that
 * `/metrics` is well-formed, not just that it contains some strings. Throws `PromTextError`
 * naming the line for anything the format does not allow.
 */

export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  /** The sample's own name (e.g. `x_bucket` of histogram `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs?: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: PromType;
  readonly help: string | undefined;
  readonly samples: readonly PromSample[];
}

export class PromTextError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Readonly<Record<PromType, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

interface MutableFamily {
  name: string;
  type: PromType | undefined;
  help: string | undefined;
  samples: PromSample[];
}

/** Parses a whole exposition into its families, by family name, in order of appearance. */
export function parsePromText(text: string): Map<string, PromFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new PromTextError(text.split('\n').length, 'no final line break');
  const families = new Map<string, MutableFamily>();
  let current: MutableFamily | undefined;
  const enter = (name: string, line: number): MutableFamily => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new PromTextError(line, `lines of ${name} are not together`);
    current = { name, type: undefined, help: undefined, samples: [] };
    families.set(name, current);
    return current;
  };
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (meta === null) return; // a plain comment
      const [, keyword, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new PromTextError(line, `bad metric name ${JSON.stringify(name)}`);
      const family = enter(name, line);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new PromTextError(line, `second HELP for ${name}`);
        family.help = unescapeHelp(rest, line);
      } else {
        if (family.type !== undefined) throw new PromTextError(line, `second TYPE for ${name}`);
        if (family.samples.length > 0) throw new PromTextError(line, `TYPE of ${name} after its samples`);
        if (!TYPES.has(rest.trim())) throw new PromTextError(line, `unknown type ${JSON.stringify(rest)}`);
        family.type = rest.trim() as PromType;
      }
      return;
    }
    const sample = parseSample(raw, line);
    const family = enter(familyOf(sample.name, current), line);
    const type = family.type ?? 'untyped';
    if (!SUFFIXES[type].some((suffix) => `${family.name}${suffix}` === sample.name))
      throw new PromTextError(line, `${sample.name} does not belong to ${type} ${family.name}`);
    const key = sampleKey(sample);
    if (family.samples.some((other) => sampleKey(other) === key))
      throw new PromTextError(line, `duplicate sample ${key}`);
    family.samples.push(sample);
  });
  return new Map(
    [...families].map(([name, family]) => [
      name,
      { name, type: family.type ?? 'untyped', help: family.help, samples: family.samples },
    ]),
  );
}

/** The family a sample name belongs to: the open family when the name is one of its series. */
function familyOf(sampleName: string, current: MutableFamily | undefined): string {
  if (current !== undefined && sampleName.startsWith(current.name)) {
    const suffix = sampleName.slice(current.name.length);
    if (SUFFIXES[current.type ?? 'untyped'].includes(suffix)) return current.name;
  }
  return sampleName;
}

function sampleKey(sample: PromSample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(sample.labels[name])}`);
  return `${sample.name}{${labels.join(',')}}`;
}

function parseSample(raw: string, line: number): PromSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
  if (nameMatch === null) throw new PromTextError(line, `no metric name in ${JSON.stringify(raw)}`);
  const name = nameMatch[0];
  let position = name.length;
  const labels: Record<string, string> = {};
  if (raw[position] === '{') {
    position += 1;
    for (;;) {
      if (raw[position] === '}') {
        position += 1;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(raw.slice(position));
      if (labelMatch === null) throw new PromTextError(line, `bad label at column ${position + 1}`);
      const labelName = labelMatch[1] ?? '';
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__'))
        throw new PromTextError(line, `reserved or bad label name ${labelName}`);
      if (labelName in labels) throw new PromTextError(line, `label ${labelName} twice`);
      position += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = raw[position];
        if (char === undefined) throw new PromTextError(line, 'unterminated label value');
        position += 1;
        if (char === '"') break;
        if (char !== '\\') {
          value += char;
          continue;
        }
        const escaped = raw[position];
        position += 1;
        if (escaped === '\\') value += '\\';
        else if (escaped === '"') value += '"';
        else if (escaped === 'n') value += '\n';
        else throw new PromTextError(line, `bad escape \\${escaped ?? ''} in a label value`);
      }
      labels[labelName] = value;
      if (raw[position] === ',') position += 1;
      else if (raw[position] !== '}') throw new PromTextError(line, `expected , or } at column ${position + 1}`);
    }
  }
  const rest = raw.slice(position);
  const fields = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
  if (fields === null) throw new PromTextError(line, `no value in ${JSON.stringify(raw)}`);
  const value = parseValue(fields[1] ?? '', line);
  const timestamp = fields[2];
  if (timestamp !== undefined && !/^-?\d+$/.test(timestamp))
    throw new PromTextError(line, `bad timestamp ${timestamp}`);
  return { name, labels, value, ...(timestamp === undefined ? {} : { timestampMs: Number(timestamp) }) };
}

/** A Go float as Prometheus reads it (strconv.ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function parseValue(text: string, line: number): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  const infinity = /^([-+]?)inf(inity)?$/i.exec(text);
  if (infinity !== null) return infinity[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new PromTextError(line, `bad value ${text}`);
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, escaped: string) => {
    if (escaped === '\\') return '\\';
    if (escaped === 'n') return '\n';
    throw new PromTextError(line, `bad escape \\${escaped} in HELP`);
  });
}

/** The value of the sample `name` whose labels include `labels`; throws unless exactly one matches. */
export function sampleValue(
  families: ReadonlyMap<string, PromFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  const matching = samplesOf(families, name, labels);
  if (matching.length !== 1)
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)} (expected exactly 1)`);
  return matching[0]?.value ?? Number.NaN;
}

/** Every sample named `name` (in any family) whose labels include `labels`. */
export function samplesOf(
  families: ReadonlyMap<string, PromFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): PromSample[] {
  return [...families.values()]
    .flatMap((family) => family.samples)
    .filter((sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v));
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function sumOf(
  families: ReadonlyMap<string, PromFamily>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return samplesOf(families, name, labels).reduce((sum, sample) => sum + sample.value, 0);
}
