/**
 * The CLI as admins use it: `callrec config check` exit codes and JSON-path error lines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../test/support/paths.js';

function callrec(...args: string[]) {
  return spawnSync(process.execPath, [join(repoRoot, 'bin', 'callrec'), ...args], { encoding: 'utf8' });
}

describe('callrec config check', () => {
  it('accepts the shipped example with exit 0', () => {
    const result = callrec('config', 'check', '--config', join(repoRoot, 'config', 'callrec.example.json'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /config OK/);
  });

  it('reports each error with its JSON path and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callrec-cli-'));
    try {
      const config = JSON.parse(readFileSync(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as {
        sip: { listen: Array<{ port: unknown }> };
        trunk: { addresses: string[] };
      };
      config.sip.listen[0]!.port = 'five';
      config.trunk.addresses = ['not-an-ip/99'];
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify(config));
      const result = callrec('config', 'check', '--config', path);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^\/sip\/listen\/0\/port: /m);
      assert.match(result.stderr, /^\/trunk\/addresses\/0: /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses CALLREC_CONFIG when --config is absent', () => {
    const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'callrec'), 'config', 'check'], {
      encoding: 'utf8',
      env: { ...process.env, CALLREC_CONFIG: join(repoRoot, 'config', 'callrec.example.json') },
    });
    assert.equal(result.status, 0, result.stderr);
  });

  it('refuses to start `run` on an invalid config and says why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callrec-cli-'));
    try {
      const path = join(dir, 'broken.json');
      writeFileSync(path, '{ "installation": ');
      const result = callrec('run', '--config', path);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /nothing started/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
