/**
 * Config reload (SPEC §8): a valid edit of the file is delivered (debounced), an invalid edit is
 * reported with its JSON path and the old config stays, SIGHUP reloads too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { watchConfig, type CallrecConfig, type ConfigError } from '../../../src/config/index.js';
import { repoRoot } from '../../support/paths.js';

function waitFor<T>(events: T[], count: number, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (events.length >= count) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

it('reloads a valid edit, rejects an invalid one with its path, and reloads on SIGHUP', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'callrec-watch-'));
  const path = join(dir, 'callrec.json');
  const example = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  > & {
    b2bua?: Record<string, unknown>;
  };
  delete example['$schema'];
  await writeFile(path, JSON.stringify(example));
  const reloads: Array<{ config: CallrecConfig; trigger: string }> = [];
  const invalid: Array<readonly ConfigError[]> = [];
  const stop = watchConfig(path, {
    debounceMs: 50,
    onReload: (config, _warnings, trigger) => reloads.push({ config, trigger }),
    onInvalid: (errors) => invalid.push(errors),
  });
  try {
    await writeFile(path, JSON.stringify({ ...example, b2bua: { ringTimeoutSeconds: 33 } }));
    await waitFor(reloads, 1, 'the reload');
    assert.equal(reloads.at(-1)?.config.b2bua.ringTimeoutSeconds, 33);
    await writeFile(path, JSON.stringify({ ...example, b2bua: { ringTimeoutSeconds: 'soon' } }));
    await waitFor(invalid, 1, 'the invalid edit');
    assert.ok(
      invalid[0]?.some((e) => e.path === '/b2bua/ringTimeoutSeconds'),
      JSON.stringify(invalid[0]),
    );
    const before = reloads.length;
    await writeFile(path, JSON.stringify({ ...example, b2bua: { ringTimeoutSeconds: 44 } }));
    await waitFor(reloads, before + 1, 'the reload after the fix');
    process.emit('SIGHUP');
    await waitFor(reloads, before + 2, 'the SIGHUP reload');
    assert.equal(reloads.at(-1)?.trigger, 'signal');
  } finally {
    stop();
    await rm(dir, { recursive: true, force: true });
  }
});
