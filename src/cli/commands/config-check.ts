import { dirname, resolve } from 'node:path';
import { describeSecret, listSecrets, loadConfig, resolveSecret } from '../../config/index.js';
import { checkFilePermissions } from '../file-permissions.js';

/** Where `config check` writes: `log` for the verdict, `error` for errors and warnings. */
export interface ConfigCheckOutput {
  log(line: string): void;
  error(line: string): void;
}

/**
 * `callrec config check`: validates the config file. Valid: prints `config OK: <path>`, then
 * one `warning: <path>: <message>` line per warning, and returns 0. Invalid: prints one
 * `<json-path>: <message>` line per error (the whole file is `/`) and returns 1. Secrets given
 * as `{ env }` / `{ file }` that cannot be resolved here are warnings (the check may run on
 * another machine than the server); their values are never printed.
 */
export async function runConfigCheck(configPath: string, out: ConfigCheckOutput): Promise<number> {
  const result = await loadConfig(configPath);
  if (!result.ok) {
    for (const error of result.errors) out.error(`${error.path === '' ? '/' : error.path}: ${error.message}`);
    return 1;
  }
  out.log(`config OK: ${configPath}`);
  const warnings = [...result.warnings];
  const baseDir = dirname(resolve(configPath));
  for (const { path, secret } of listSecrets(result.config)) {
    if (typeof secret === 'string') continue;
    try {
      await resolveSecret(secret, baseDir);
    } catch (error) {
      const reason = error instanceof Error ? error.message : `cannot resolve ${describeSecret(secret)}`;
      warnings.push(`${path}: ${reason}`);
    }
  }
  // Unsafe modes stop `callrec run`; here, where the check may run elsewhere, they are warnings
  for (const finding of await checkFilePermissions(result.config, configPath)) warnings.push(finding.message);
  for (const warning of warnings) out.error(`warning: ${warning}`);
  return 0;
}
