/** One problem in a config file. */
export interface ConfigError {
  /** JSON pointer of the offending value, e.g. `/sip/listen/0/port`; `""` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `key` escaped for use in a JSON pointer (RFC 6901). */
export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

// Shape guards for checks that run on raw, possibly schema-invalid data: each skips values of
// the wrong shape.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object items of an array with their indexes; `[]` for a non-array. */
export function records(value: unknown): Array<[number, Record<string, unknown>]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): Array<[number, Record<string, unknown>]> => (isRecord(item) ? [[i, item]] : []));
}

/** The string items of an array with their indexes; `[]` for a non-array. */
export function strings(value: unknown): Array<[number, string]> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item, i): Array<[number, string]> => (typeof item === 'string' ? [[i, item]] : []));
}
