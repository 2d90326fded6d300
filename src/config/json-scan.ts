import { escapePointer, type ConfigError } from './config-error.js';

/** The outcome of {@link parseJson}. */
export type ParsedJson =
  | { readonly ok: true; readonly value: unknown; readonly duplicateKeys: string[] }
  | { readonly ok: false; readonly error: ConfigError };

/** JSON.parse plus our own scan for a precise, value-free position and duplicate keys. */
export function parseJson(raw: string): ParsedJson {
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
