import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { archiveErrors } from './archive-checks.js';
import type { ConfigError } from './config-error.js';
import { configWarnings, missingFileWarnings } from './config-warnings.js';
import { parseJson } from './json-scan.js';
import { deepFreeze, resolvePaths } from './resolve-paths.js';
import { schemaErrors, sortByDocumentOrder } from './schema-validation.js';
import { semanticErrors } from './semantic-checks.js';
import type { CallrecConfig } from './types.js';

export type { ConfigError } from './config-error.js';
export { configSchemaPath } from './schema-validation.js';
export { networkProblem, sipUriProblem } from './network-checks.js';

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
  // schemaErrors fills schema defaults into `data` (ajv useDefaults) before the other checks read it.
  const errors: ConfigError[] = [
    ...duplicateKeys.map((key) => ({ path: key, message: 'duplicate key; only its last value would be used' })),
    ...schemaErrors(data),
  ];
  const reported = new Set(errors.map((e) => e.path));
  for (const error of [...semanticErrors(data), ...archiveErrors(data)]) {
    if (!reported.has(error.path)) errors.push(error);
  }
  if (errors.length > 0) return { ok: false, errors: sortByDocumentOrder(errors, data) };
  const config = deepFreeze(resolvePaths(data as CallrecConfig, baseDir));
  return { ok: true, config, warnings: configWarnings(config) };
}

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
