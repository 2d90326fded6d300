import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import { AppError } from '../errors.js';
import { escapePointer, isRecord, type ConfigError } from './config-error.js';

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
 * Validates `data` against the schema, filling schema defaults into it (ajv `useDefaults`), and
 * describes every problem with the JSON path of the value.
 */
export function schemaErrors(data: unknown): ConfigError[] {
  const validate = validator();
  return validate(data) ? [] : describeAjvErrors(validate.errors ?? []);
}

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
export function sortByDocumentOrder(errors: ConfigError[], data: unknown): ConfigError[] {
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
