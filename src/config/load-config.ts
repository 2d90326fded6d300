import { existsSync, readFileSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import { AppError } from '../errors.js';
import { listSecrets } from './secrets.js';
import type { CallrecConfig, ProfileConfig, Secret, TargetConfig } from './types.js';

/** One problem in a config file. */
export interface ConfigError {
  /** JSON pointer of the offending value, e.g. `/sip/listen/0/port`; `""` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** The outcome of `loadConfig` / `validateConfig`. */
export type LoadConfigResult =
  | {
      readonly ok: true;
      /** Validated, defaults filled, relative paths absolute, deeply frozen. */
      readonly config: CallrecConfig;
      /** Suspicious but valid settings, each `"<path>: <message>"`. */
      warnings: string[];
    }
  | { readonly ok: false; errors: ConfigError[] };

const SCHEMA_FILE = join('config', 'callrec.schema.json');

/** Absolute path of `config/callrec.schema.json` of this installation. */
export function configSchemaPath(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    const candidate = join(dir, SCHEMA_FILE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new AppError('CONFIG_READ', `cannot find ${SCHEMA_FILE} above ${start}`);
    dir = parent;
  }
}

/**
 * Reads, parses and validates a config file. Never throws for problems of the file itself
 * (missing, unreadable, bad JSON, invalid): they come back as `{ ok: false, errors }`.
 */
export async function loadConfig(path: string): Promise<LoadConfigResult> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ path: '', message: readFailure(file, error) }] };
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, errors: [parsed.error] };
  const result = validateParsed(parsed.value, dirname(file), parsed.duplicateKeys);
  if (result.ok) result.warnings.push(...(await missingFileWarnings(result.config)));
  return result;
}

/**
 * Validates an already parsed config (e.g. from a reload) whose relative paths belong to
 * `baseDir`. `data` is not modified. No file system access.
 */
export function validateConfig(data: unknown, baseDir: string): LoadConfigResult {
  return validateParsed(structuredClone(data), resolve(baseDir), []);
}

function validateParsed(data: unknown, baseDir: string, duplicateKeys: readonly string[]): LoadConfigResult {
  const validate = validator();
  // Fills schema defaults into `data` (ajv useDefaults).
  const schemaValid = validate(data);
  const schemaErrors = schemaValid ? [] : describeAjvErrors(validate.errors ?? []);
  const errors: ConfigError[] = [
    ...duplicateKeys.map((key) => ({ path: key, message: 'duplicate key; only its last value would be used' })),
    ...schemaErrors,
  ];
  const reported = new Set(errors.map((e) => e.path));
  for (const error of semanticErrors(data)) {
    if (!reported.has(error.path)) errors.push(error);
  }
  if (errors.length > 0) return { ok: false, errors: sortByDocumentOrder(errors, data) };
  const config = deepFreeze(resolvePaths(data as CallrecConfig, baseDir));
  return { ok: true, config, warnings: configWarnings(config) };
}

// ---------------------------------------------------------------------------------------------
// Reading and JSON syntax

function readFailure(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `config file not found: ${file}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot read config file ${file}: permission denied`;
    case 'EISDIR':
      return `cannot read config file ${file}: it is a directory`;
    default:
      return `cannot read config file ${file} (${code ?? 'unknown error'})`;
  }
}

type ParsedJson =
  | { readonly ok: true; readonly value: unknown; readonly duplicateKeys: string[] }
  | { readonly ok: false; readonly error: ConfigError };

/** JSON.parse plus our own scan for a precise, value-free position and duplicate keys. */
function parseJson(raw: string): ParsedJson {
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  if (text.trim() === '') return { ok: false, error: { path: '', message: 'invalid JSON: the file is empty' } };
  const scan = scanJson(text);
  if (scan.problem !== undefined) {
    const { line, column } = lineAndColumn(text, scan.problem.offset);
    return {
      ok: false,
      error: { path: '', message: `invalid JSON at line ${line}, column ${column}: ${scan.problem.message}` },
    };
  }
  try {
    const value: unknown = JSON.parse(text);
    return { ok: true, value, duplicateKeys: scan.duplicateKeys };
  } catch {
    // The scanner accepts exactly JSON; kept so a disagreement cannot crash the loader.
    // V8's message quotes the input (it may hold secrets), so it is not passed on.
    return { ok: false, error: { path: '', message: 'invalid JSON' } };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

interface JsonScan {
  readonly problem?: { readonly offset: number; readonly message: string };
  /** JSON pointers of keys that appear twice in the same object. */
  readonly duplicateKeys: string[];
}

class JsonProblem extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** A strict RFC 8259 recogniser that reports where and why input is not JSON, never what. */
function scanJson(text: string): JsonScan {
  const duplicateKeys: string[] = [];
  let pos = 0;
  const fail = (message: string, at = pos): never => {
    throw new JsonProblem(at, message);
  };
  const skipWhitespace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      pos++;
    }
  };
  const unexpected = (expected: string): never => {
    if (pos >= text.length) return fail(`unexpected end of file, expected ${expected}`);
    const c = text.charAt(pos);
    if (c === "'") return fail('single quotes are not JSON; use double quotes');
    if (c === '/') return fail('comments are not allowed in JSON');
    const shown = /[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]/.test(c) ? `'${c}'` : 'character';
    return fail(`unexpected ${shown}, expected ${expected}`);
  };
  const scanString = (): string => {
    const start = pos;
    pos++;
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return text.slice(start, pos);
      }
      if (c === 0x5c) {
        const e = text.charAt(pos + 1);
        if ('"\\/bfnrt'.includes(e) && e !== '') pos += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) pos += 6;
        else fail('invalid escape sequence in string');
      } else if (c < 0x20) {
        fail(
          c === 0x0a || c === 0x0d
            ? 'line break inside a string (missing closing quote?)'
            : 'control character inside a string',
        );
      } else {
        pos++;
      }
    }
  };
  const scanValue = (path: string, depth: number): void => {
    if (depth > MAX_DEPTH) fail('nesting is too deep');
    skipWhitespace();
    const c = text.charAt(pos);
    if (c === '{') return scanObject(path, depth);
    if (c === '[') return scanArray(path, depth);
    if (c === '"') {
      scanString();
      return;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = pos;
      const match = NUMBER.exec(text);
      if (match === null) return fail('invalid number');
      pos += match[0].length;
      if (/[0-9A-Za-z.+-]/.test(text.charAt(pos))) fail('invalid number');
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, pos)) {
        pos += literal.length;
        if (/[A-Za-z0-9_]/.test(text.charAt(pos))) unexpected('a value');
        return;
      }
    }
    unexpected('a value');
  };
  const scanObject = (path: string, depth: number): void => {
    pos++;
    skipWhitespace();
    if (text.charAt(pos) === '}') {
      pos++;
      return;
    }
    const keys = new Set<string>();
    for (;;) {
      skipWhitespace();
      if (text.charAt(pos) === '}') fail("trailing comma before '}'");
      if (text.charAt(pos) !== '"') unexpected('a property name in double quotes');
      const key = JSON.parse(scanString()) as string;
      const keyPath = `${path}/${escapePointer(key)}`;
      if (keys.has(key)) duplicateKeys.push(keyPath);
      keys.add(key);
      skipWhitespace();
      if (text.charAt(pos) !== ':') unexpected("':' after a property name");
      pos++;
      scanValue(keyPath, depth + 1);
      skipWhitespace();
      const next = text.charAt(pos);
      pos++;
      if (next === '}') return;
      if (next !== ',') {
        pos--;
        unexpected("',' or '}' after a property value");
      }
    }
  };
  const scanArray = (path: string, depth: number): void => {
    pos++;
    skipWhitespace();
    if (text.charAt(pos) === ']') {
      pos++;
      return;
    }
    for (let index = 0; ; index++) {
      skipWhitespace();
      if (text.charAt(pos) === ']') fail("trailing comma before ']'");
      scanValue(`${path}/${index}`, depth + 1);
      skipWhitespace();
      const next = text.charAt(pos);
      pos++;
      if (next === ']') return;
      if (next !== ',') {
        pos--;
        unexpected("',' or ']' after an array element");
      }
    }
  };
  try {
    scanValue('', 0);
    skipWhitespace();
    if (pos < text.length) fail('unexpected content after the end of the JSON value');
    return { duplicateKeys };
  } catch (error) {
    if (error instanceof JsonProblem)
      return { problem: { offset: error.offset, message: error.message }, duplicateKeys };
    throw error;
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// ---------------------------------------------------------------------------------------------
// Schema validation

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  const path = configSchemaPath();
  let schema: SchemaObject;
  try {
    schema = JSON.parse(readFileSync(path, 'utf8')) as SchemaObject;
  } catch (error) {
    throw new AppError('CONFIG_READ', `cannot load the config schema ${path}`, { cause: error });
  }
  const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: true, verbose: true });
  // Annotations that editors (VS Code) understand; we use them for our own messages too.
  ajv.addKeyword('patternErrorMessage');
  ajv.addKeyword('errorMessage');
  ajv.addFormat('ip-address', (value: string) => isIP(value) !== 0);
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+$/);
  compiled = ajv.compile(schema);
  return compiled;
}

const FORMAT_MESSAGES: Readonly<Record<string, string>> = {
  'ip-address': 'must be an IPv4 or IPv6 address',
  email: 'must be an email address',
};

function describeAjvErrors(raw: readonly ErrorObject[]): ConfigError[] {
  // Branch errors of a failed oneOf/anyOf are noise; the oneOf/anyOf error itself speaks for them.
  const composites = raw.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const relevant = raw.filter(
    (e) =>
      !composites.some(
        (c) =>
          c !== e &&
          e.schemaPath.startsWith(`${c.schemaPath}/`) &&
          (e.instancePath === c.instancePath || e.instancePath.startsWith(`${c.instancePath}/`)),
      ),
  );
  // A value of the wrong type fails its enum/pattern/range too; the type error says it all.
  const wrongType = new Set(relevant.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const errors: ConfigError[] = [];
  for (const e of relevant) {
    if (e.keyword !== 'type' && wrongType.has(e.instancePath)) continue;
    const described = describeAjvError(e);
    if (described !== undefined && !errors.some((d) => d.path === described.path && d.message === described.message)) {
      errors.push(described);
    }
  }
  // Never let an invalid file pass because every raw error was filtered as redundant.
  if (errors.length === 0 && raw.length > 0) {
    const first = raw[0];
    errors.push({ path: first?.instancePath ?? '', message: first?.message ?? 'is invalid' });
  }
  return errors;
}

function describeAjvError(e: ErrorObject): ConfigError | undefined {
  const params = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  switch (e.keyword) {
    case 'if':
      // The failing `then` reported its own errors.
      return undefined;
    case 'required':
      return {
        path: `${e.instancePath}/${escapePointer(String(params.missingProperty))}`,
        message: 'required key is missing',
      };
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys((parent.properties ?? {}) as Record<string, unknown>);
      const suggestion = closest(key, known);
      return {
        path: `${e.instancePath}/${escapePointer(key)}`,
        message: suggestion === undefined ? 'unknown key' : `unknown key (did you mean '${suggestion}'?)`,
      };
    }
    case 'type':
      return { path: e.instancePath, message: `must be ${typeNames(String(params.type))}, not ${jsonTypeOf(e.data)}` };
    case 'enum':
      return {
        path: e.instancePath,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { path: e.instancePath, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern':
      return {
        path: e.instancePath,
        message:
          typeof parent.patternErrorMessage === 'string'
            ? parent.patternErrorMessage
            : `must match ${String(params.pattern)}`,
      };
    case 'format':
      return {
        path: e.instancePath,
        message: FORMAT_MESSAGES[String(params.format)] ?? `must be a valid ${String(params.format)}`,
      };
    case 'oneOf':
    case 'anyOf': {
      if (typeof parent.errorMessage === 'string') return { path: e.instancePath, message: parent.errorMessage };
      const branches = (parent[e.keyword] ?? []) as Array<Record<string, unknown>>;
      const titles = branches.map((b) => b.title).filter((t): t is string => typeof t === 'string');
      return {
        path: e.instancePath,
        message: titles.length > 0 ? `must be one of: ${titles.join(', ')}` : 'has an invalid form',
      };
    }
    case 'minItems':
      return {
        path: e.instancePath,
        message: `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`,
      };
    case 'maxItems':
    case 'additionalItems':
      return { path: e.instancePath, message: `must have at most ${String(params.limit)} items` };
    case 'minLength':
      return {
        path: e.instancePath,
        message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`,
      };
    default:
      return { path: e.instancePath, message: e.message ?? 'is invalid' };
  }
}

function typeNames(types: string): string {
  return types
    .split(',')
    .map((t) => (t === 'integer' || t === 'object' || t === 'array' ? `an ${t}` : t === 'null' ? 'null' : `a ${t}`))
    .join(' or ');
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a fractional number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** The known key closest to a misspelt one (edit distance ≤ 2), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Orders errors as their values appear in the file (missing keys right after their parent). */
function sortByDocumentOrder(errors: ConfigError[], data: unknown): ConfigError[] {
  const order = new Map<string, number>();
  const visit = (value: unknown, path: string): void => {
    order.set(path, order.size);
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}/${i}`));
    else if (isRecord(value))
      for (const [key, item] of Object.entries(value)) visit(item, `${path}/${escapePointer(key)}`);
  };
  visit(data, '');
  const rank = (path: string): number => {
    let p = path;
    while (!order.has(p) && p !== '') p = p.slice(0, p.lastIndexOf('/'));
    return order.get(p) ?? 0;
  };
  return errors
    .map((error, index) => ({ error, index, rank: rank(error.path) }))
    .sort((x, y) => x.rank - y.rank || x.index - y.index)
    .map((x) => x.error);
}

// ---------------------------------------------------------------------------------------------
// Checks the schema cannot express. They run on the raw data even when the schema failed, so
// one `config check` shows every problem; each check skips values of the wrong shape.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): Array<[number, Record<string, unknown>]> => (isRecord(item) ? [[i, item]] : []));
}

function strings(value: unknown): Array<[number, string]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): Array<[number, string]> => (typeof item === 'string' ? [[i, item]] : []));
}

/** Why `entry` is not an IP address or CIDR network, or undefined when it is one. */
export function networkProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0 || address.includes('%')) {
    return 'must be an IPv4/IPv6 address or CIDR network, e.g. 192.0.2.10, 198.51.100.0/24, 2001:db8::/32';
  }
  if (slash >= 0) {
    const max = family === 4 ? 32 : 128;
    const prefix = entry.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > max) return `prefix length must be 0 to ${max}`;
  }
  return undefined;
}

const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const SIP_URI = /^(sips?):(?:[^@;?\s]+@)?(\[[^\]\s]*\]|[^:;?[\]\s]+)(?::([0-9]{1,5}))?(?:;[^?\s]*)?(?:\?\S*)?$/i;

/** Why `uri` is not a usable sip:/sips: URI, or undefined when it is one. */
export function sipUriProblem(uri: string): string | undefined {
  const match = SIP_URI.exec(uri);
  if (match === null) return 'must be a sip: or sips: URI like sip:host[:port][;params]';
  const host = match[2] ?? '';
  const port = match[3];
  if (host.startsWith('[')) {
    if (!isIPv6(host.slice(1, -1))) return 'has an invalid IPv6 reference';
  } else if (/^[0-9.]+$/.test(host)) {
    if (!isIPv4(host)) return 'has an invalid IPv4 address';
  } else if (!HOST_NAME.test(host)) {
    return 'has an invalid host name';
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'port must be 1 to 65535';
  return undefined;
}

function semanticErrors(data: unknown): ConfigError[] {
  if (!isRecord(data)) return [];
  const errors: ConfigError[] = [];
  const error = (path: string, message: string): void => {
    errors.push({ path, message });
  };

  for (const side of ['trunk', 'pbx'] as const) {
    const peer = data[side];
    if (!isRecord(peer)) continue;
    for (const [i, entry] of strings(peer.addresses)) {
      const problem = networkProblem(entry);
      if (problem !== undefined) error(`/${side}/addresses/${i}`, problem);
    }
    if (typeof peer.uri === 'string') {
      const problem = sipUriProblem(peer.uri);
      if (problem !== undefined) error(`/${side}/uri`, problem);
    }
  }

  const ids = new Map<string, Set<string>>();
  for (const list of ['users', 'groups', 'profiles', 'targets'] as const) {
    const seen = new Map<string, number>();
    for (const [i, item] of records(data[list])) {
      if (typeof item.id !== 'string') continue;
      const first = seen.get(item.id);
      if (first === undefined) seen.set(item.id, i);
      else error(`/${list}/${i}/id`, `duplicate id '${item.id}' (first used at /${list}/${first})`);
    }
    ids.set(list, new Set(seen.keys()));
  }
  const checkRefs = (path: string, value: unknown, list: 'users' | 'groups' | 'targets', noun: string): void => {
    const known = ids.get(list) ?? new Set<string>();
    for (const [j, ref] of strings(value)) {
      if (!known.has(ref)) error(`${path}/${j}`, `unknown ${noun} '${ref}' (not in /${list})`);
    }
  };
  for (const [i, group] of records(data.groups)) checkRefs(`/groups/${i}/members`, group.members, 'users', 'user');
  for (const [i, profile] of records(data.profiles)) {
    checkRefs(`/profiles/${i}/groups`, profile.groups, 'groups', 'group');
    checkRefs(`/profiles/${i}/users`, profile.users, 'users', 'user');
    checkRefs(`/profiles/${i}/targets`, profile.targets, 'targets', 'target');
    const consent = profile.consent;
    if (isRecord(consent) && typeof consent.routeTo === 'string') {
      const problem = sipUriProblem(consent.routeTo);
      if (problem !== undefined) error(`/profiles/${i}/consent/routeTo`, problem);
    }
  }

  const media = data.media;
  if (isRecord(media) && Array.isArray(media.portRange)) {
    const [first, last] = media.portRange as unknown[];
    if (typeof first === 'number' && typeof last === 'number' && first > last) {
      error('/media/portRange', 'the first port must not be greater than the last');
    }
  }

  const sip = data.sip;
  if (isRecord(sip)) {
    const timers = sip.timers;
    if (
      isRecord(timers) &&
      typeof timers.t1Ms === 'number' &&
      typeof timers.t2Ms === 'number' &&
      timers.t2Ms < timers.t1Ms
    ) {
      error('/sip/timers/t2Ms', 'must not be less than t1Ms');
    }
    const sockets = new Map<string, number>();
    for (const [i, listener] of records(sip.listen)) {
      const { transport, host, port } = listener;
      if (typeof transport !== 'string' || typeof host !== 'string' || typeof port !== 'number') continue;
      const key = `${transport === 'udp' ? 'udp' : 'tcp'} ${host} ${port}`;
      const first = sockets.get(key);
      if (first === undefined) sockets.set(key, i);
      else
        error(
          `/sip/listen/${i}`,
          `binds the same ${transport === 'udp' ? 'UDP' : 'TCP'} address and port as /sip/listen/${first}`,
        );
    }
  }

  const codes = data.featureCodes;
  if (isRecord(codes) && typeof codes.groupLogin === 'string' && codes.groupLogin === codes.groupLogout) {
    error('/featureCodes/groupLogin', 'must differ from groupLogout');
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Warnings (on a valid config)

function configWarnings(config: CallrecConfig): string[] {
  const warnings: string[] = [];
  const warn = (path: string, message: string): void => {
    warnings.push(`${path}: ${message}`);
  };

  const trunkList = blockListOf(config.trunk.addresses);
  config.pbx.addresses.forEach((entry, i) => {
    const pbxEntry = blockListOf([entry]);
    if (overlaps(entry, trunkList) || config.trunk.addresses.some((t) => overlaps(t, pbxEntry))) {
      warn(`/pbx/addresses/${i}`, 'overlaps the trunk addresses; sources in both are treated as trunk');
    }
  });

  for (const [i, listener] of config.sip.listen.entries()) {
    if (listener.transport !== 'tls' && (listener.certificate !== undefined || listener.privateKey !== undefined)) {
      warn(`/sip/listen/${i}`, `certificate and privateKey are ignored for ${listener.transport}`);
    }
  }

  const used = new Set(config.profiles.flatMap((p) => p.targets));
  config.targets.forEach((target, i) => {
    if (!used.has(target.id)) warn(`/targets/${i}`, `target '${target.id}' is not used by any profile`);
  });

  config.profiles.forEach((profile, i) => profileWarnings(profile, `/profiles/${i}`, config, warn));
  sameMatchSetWarnings(config, warn);

  const numbers = new Map<string, string>();
  const claim = (number: string, path: string): void => {
    const first = numbers.get(number);
    if (first === undefined) numbers.set(number, path);
    else warn(path, `number ${number} is also assigned at ${first}`);
  };
  config.users.forEach((u, i) => u.numbers.forEach((n, j) => claim(n, `/users/${i}/numbers/${j}`)));
  config.groups.forEach((g, i) =>
    g.numbers.forEach((n, j) => {
      const path = `/groups/${i}/numbers/${j}`;
      // A group number that is also a user's number gets its own, more precise warning.
      const user = userOwningNumber(n, config);
      if (user === undefined) claim(n, path);
      else warn(path, `number ${n} of group "${g.id}" is also ${user}`);
    }),
  );

  const extensions = new Map<string, number>();
  config.users.forEach((user, i) => {
    if (user.extension === undefined) return;
    const first = extensions.get(user.extension);
    if (first === undefined) extensions.set(user.extension, i);
    else warn(`/users/${i}/extension`, `extension ${user.extension} is also used by /users/${first}`);
  });

  for (const { path, secret } of listSecrets(config)) {
    if (typeof secret === 'string') {
      warn(path, 'secret is stored in clear in the config; prefer { "env": NAME } or { "file": path }');
    }
  }

  const adminHost = config.admin.http.host;
  if (!isLoopback(adminHost)) {
    warn('/admin/http/host', `the admin endpoint listens on ${adminHost}, not only on localhost`);
  }
  return warnings;
}

function profileWarnings(
  profile: ProfileConfig,
  path: string,
  config: CallrecConfig,
  warn: (path: string, message: string) => void,
): void {
  if (!profile.enabled) return;
  if (profile.groups.length === 0 && profile.users.length === 0)
    warn(path, 'enabled profile names no groups or users and records nothing');
  if (!profile.inbound && !profile.outbound) warn(path, 'enabled profile records neither inbound nor outbound calls');
  if (profile.inbound && profile.announcement.inbound === undefined) {
    warn(`${path}/announcement/inbound`, 'inbound calls are recorded without an announcement');
  }
  if (profile.outbound && profile.announcement.outbound === undefined) {
    warn(`${path}/announcement/outbound`, 'outbound calls are recorded without an announcement');
  }
  if (profile.retentionDays === undefined)
    warn(`${path}/retentionDays`, 'not set: recordings are kept until deleted manually');
  if (profile.targets.length === 0) warn(`${path}/targets`, 'no targets: recordings stay in the local spool only');
  if (profile.notify !== undefined && config.email === undefined)
    warn(`${path}/notify`, 'no email section is configured, so no notification can be sent');
}

/** Enabled profiles after the first with the same groups, users and switches never record. */
function sameMatchSetWarnings(config: CallrecConfig, warn: (path: string, message: string) => void): void {
  const seen = new Map<string, ProfileConfig>();
  config.profiles.forEach((profile, i) => {
    const recordsNothing =
      (profile.groups.length === 0 && profile.users.length === 0) || (!profile.inbound && !profile.outbound);
    if (!profile.enabled || recordsNothing) return;
    const key = JSON.stringify([
      [...new Set(profile.groups)].sort(),
      [...new Set(profile.users)].sort(),
      profile.inbound,
      profile.outbound,
      // Only changes what is recorded for inbound calls to members of recorded groups.
      profile.inbound && profile.groups.length > 0 && profile.recordDirectCallsToActiveMembers,
    ]);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, profile);
    else
      warn(
        `/profiles/${i}`,
        `profiles "${first.id}" and "${profile.id}" match the same calls; only the first will ever record`,
      );
  });
}

/**
 * Which user also has `number` — as a direct number, or as the DID `companyNumber` + extension —
 * described for a warning; undefined when no user has it.
 */
function userOwningNumber(number: string, config: CallrecConfig): string | undefined {
  for (const [i, user] of config.users.entries()) {
    const j = user.numbers.indexOf(number);
    if (j >= 0) return `a number of user "${user.id}" (/users/${i}/numbers/${j})`;
  }
  const { companyNumber, extensionLength } = config.numbering;
  if (companyNumber === undefined || !number.startsWith(companyNumber)) return undefined;
  const suffix = number.slice(companyNumber.length);
  if (extensionLength !== undefined && suffix.length !== extensionLength) return undefined;
  const user = config.users.find((u) => u.extension === suffix);
  return user === undefined ? undefined : `the direct dial of user "${user.id}" (companyNumber + extension ${suffix})`;
}

function isLoopback(host: string): boolean {
  return host === '::1' || host === 'localhost' || (isIPv4(host) && host.startsWith('127.'));
}

function blockListOf(addresses: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of addresses) {
    const [address = '', prefix] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** Two aligned networks overlap iff one contains the other's first address. */
function overlaps(entry: string, list: BlockList): boolean {
  const address = entry.split('/')[0] ?? '';
  return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Warnings for referenced files that do not exist on this machine. */
async function missingFileWarnings(config: CallrecConfig): Promise<string[]> {
  const files: Array<[string, string | undefined]> = [
    ['/sip/tls/ca', config.sip.tls.ca],
    ...config.sip.listen.flatMap((l, i): Array<[string, string | undefined]> => [
      [`/sip/listen/${i}/certificate`, l.certificate],
      [`/sip/listen/${i}/privateKey`, l.privateKey],
    ]),
    ...config.profiles.flatMap((p, i): Array<[string, string | undefined]> => [
      [`/profiles/${i}/announcement/inbound`, p.announcement.inbound],
      [`/profiles/${i}/announcement/outbound`, p.announcement.outbound],
    ]),
  ];
  const warnings: string[] = [];
  for (const [path, file] of files) {
    if (file === undefined) continue;
    try {
      await access(file);
    } catch {
      warnings.push(`${path}: file not found: ${file}`);
    }
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// Path resolution

function resolvePaths(config: CallrecConfig, baseDir: string): CallrecConfig {
  const abs = (p: string): string => resolve(baseDir, p);
  const optional = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  const secret = <S extends Secret | undefined>(s: S): S =>
    (typeof s === 'object' && 'file' in s ? { file: abs(s.file) } : s) as S;
  const target = (t: TargetConfig): TargetConfig => {
    switch (t.type) {
      case 'smb':
        return { ...t, password: secret(t.password) };
      case 'sftp':
        return withDefined(
          { ...t },
          { password: secret(t.password), privateKey: secret(t.privateKey), passphrase: secret(t.passphrase) },
        );
      case 'onedrive':
        return withDefined({ ...t }, { clientSecret: secret(t.clientSecret) });
      case 'local':
        return { ...t, path: abs(t.path) };
    }
  };
  return {
    ...config,
    installation: {
      ...config.installation,
      dataDir: abs(config.installation.dataDir),
      keystorePassword: secret(config.installation.keystorePassword),
    },
    sip: {
      ...config.sip,
      listen: config.sip.listen.map((l) =>
        withDefined(
          { ...l },
          {
            certificate: optional(l.certificate),
            privateKey: optional(l.privateKey),
            passphrase: secret(l.passphrase),
          },
        ),
      ),
      tls: withDefined({ ...config.sip.tls }, { ca: optional(config.sip.tls.ca) }),
    },
    profiles: config.profiles.map((p) => ({
      ...p,
      announcement: withDefined(
        { ...p.announcement },
        { inbound: optional(p.announcement.inbound), outbound: optional(p.announcement.outbound) },
      ),
    })),
    targets: config.targets.map(target),
    ...(config.email === undefined
      ? {}
      : {
          email: {
            ...config.email,
            smtp: withDefined({ ...config.email.smtp }, { password: secret(config.email.smtp.password) }),
          },
        }),
  };
}

/** `base` with the defined values of `updates` (absent keys stay absent, not `undefined`). */
function withDefined<T extends object>(base: T, updates: Partial<T>): T {
  const out = { ...base };
  for (const [key, value] of Object.entries(updates) as Array<[keyof T, T[keyof T] | undefined]>) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
