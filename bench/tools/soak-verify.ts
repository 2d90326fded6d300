/** The recording check of `bench/soak.ts`: every sealed recording through the verifier, as one chain. */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyFolder } from '../../src/integrity/index.js';
import { repoRoot } from '../../test/support/paths.js';

export interface VerifyOutcome {
  readonly recordings: number;
  readonly ok: number;
  readonly failed: number;
  /** Chain and folder findings at level `fail` (a sequence gap = a recording missing). */
  readonly chainFailures: number;
  /** The first few failure lines. */
  readonly problems: readonly string[];
}

/**
 * Exports the installation certificate with `callrec cert export` (callrec stopped), links every
 * file of every `<dataDir>/recordings/<id>/` folder into one flat folder and verifies it with the
 * verifier `callrec verify` uses: checksums, signatures, and the chain across all recordings
 * (no gaps allowed: every recording of the run must be there).
 */
export async function verifyAllRecordings(dir: string, configPath: string, dataDir: string): Promise<VerifyOutcome> {
  const cert = join(dir, 'cert.pem');
  const exported = spawnSync(
    process.execPath,
    [join(repoRoot, 'bin', 'callrec'), 'cert', 'export', '--out', cert, '--config', configPath],
    {
      encoding: 'utf8',
    },
  );
  if (exported.status !== 0) throw new Error(`callrec cert export failed: ${exported.stderr}${exported.stdout}`);
  const flat = join(dir, 'all-recordings');
  await mkdir(flat, { recursive: true });
  const root = join(dataDir, 'recordings');
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of await readdir(join(root, entry.name))) {
      await symlink(join(root, entry.name, file), join(flat, file));
    }
  }
  const verdict = await verifyFolder(flat, { certificatePem: await readFile(cert, 'utf8'), allowChainGaps: false });
  const failed = verdict.recordings.filter((r) => !r.ok);
  const chainFailures = verdict.findings.filter((f) => f.level === 'fail');
  return {
    recordings: verdict.recordings.length,
    ok: verdict.recordings.length - failed.length,
    failed: failed.length,
    chainFailures: chainFailures.length,
    problems: [
      ...failed.slice(0, 5).map((r) => `FAIL ${r.id}: ${r.problems.join('; ')}`),
      ...chainFailures.slice(0, 5).map((f) => `FAIL ${f.subject}: ${f.message}`),
    ],
  };
}
