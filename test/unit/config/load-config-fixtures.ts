/** Shared helpers for the config loader tests: a temp dir, the example config and JSON navigation. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { loadConfig, type CallrecConfig, type ConfigError, type LoadConfigResult } from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

export type Json = Record<string, unknown>;

export const examplePath = join(repoRoot, 'config', 'callrec.example.json');
export let dir: string;
let counter = 0;

/** Creates the temp dir `dir` before the file's tests and removes it after them. */
export function useTempDir(): void {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'callrec-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
}

export async function example(): Promise<Json> {
  return JSON.parse(await readFile(examplePath, 'utf8')) as Json;
}

/** Writes a config (object or raw text) into the temp dir and loads it. */
export async function load(content: Json | string): Promise<LoadConfigResult> {
  const file = join(dir, `config-${++counter}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return loadConfig(file);
}

/** Loads the example after `edit` and returns the errors (fails if it is valid). */
export async function errorsAfter(edit: (config: Json) => void): Promise<ConfigError[]> {
  const config = await example();
  edit(config);
  const result = await load(config);
  assert.equal(result.ok, false, 'expected the config to be invalid');
  return result.ok ? [] : result.errors;
}

export function valid(result: LoadConfigResult): CallrecConfig {
  if (!result.ok) assert.fail(`expected a valid config, got ${JSON.stringify(result.errors)}`);
  return result.config;
}

export function at(errors: readonly ConfigError[], path: string): ConfigError {
  const found = errors.find((e) => e.path === path);
  assert.ok(found, `no error at ${path}; got ${JSON.stringify(errors)}`);
  return found;
}

// Navigation helpers for editing parsed JSON in tests.
export function obj(value: unknown): Json {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
  return value as Json;
}
export function arr(value: unknown): unknown[] {
  assert.ok(Array.isArray(value));
  return value;
}
export function item(list: unknown, index: number): Json {
  return obj(arr(list)[index]);
}
