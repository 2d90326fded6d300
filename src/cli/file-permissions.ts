import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { listSecrets, type CallrecConfig } from '../config/index.js';

/** One unsafe file mode; `error` stops `callrec run`, `warning` is logged (and printed by `config check`). */
export interface PermissionFinding {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  /** Permission bits, e.g. 0o644. */
  readonly mode: number;
  /** `<json-path>: ` (the config key naming the file; `/` for the config file), the file, its mode, the risk and the fix. */
  readonly message: string;
}

export interface PermissionCheckOptions {
  /** @default node:fs/promises stat (follows symbolic links: the target's mode is what counts) */
  readonly stat?: (path: string) => Promise<{ readonly mode: number }>;
}

type FileKind = 'config' | 'private' | 'directory';

interface CheckedFile {
  readonly file: string;
  readonly kind: FileKind;
  /** The config key the file comes from. */
  readonly path: string;
  /** What the file is, for the message, e.g. `keystore`. */
  readonly label: string;
}

const GROUP_WRITE = 0o020;
const OTHER_WRITE = 0o002;
const GROUP_READ = 0o040;
const OTHER_READ = 0o004;

/**
 * SPEC §4 security: checks the modes of the files that decide who is recorded or hold keys — the
 * config (not writable by group or others), the keystore, `{ "file": … }` secrets and TLS private
 * keys (not readable or writable by others: error; group-readable: warning), and the data and
 * spool directories (0700 expected: warning). Files that do not exist (yet) are not findings.
 */
export async function checkFilePermissions(
  config: CallrecConfig,
  configPath: string,
  options: PermissionCheckOptions = {},
): Promise<PermissionFinding[]> {
  const statFile = options.stat ?? stat;
  const findings: PermissionFinding[] = [];
  const seen = new Set<string>();
  for (const entry of filesToCheck(config, configPath)) {
    if (seen.has(entry.file)) continue;
    seen.add(entry.file);
    let mode: number;
    try {
      mode = (await statFile(entry.file)).mode & 0o777;
    } catch {
      continue; // missing or unreadable: reported where the file is used, with its own error
    }
    findings.push(...judge(entry, mode, config));
  }
  return findings;
}

function filesToCheck(config: CallrecConfig, configPath: string): CheckedFile[] {
  const dataDir = config.installation.dataDir;
  const files: CheckedFile[] = [
    { file: resolve(configPath), kind: 'config', path: '/', label: 'config file' },
    { file: join(dataDir, 'keystore.p12'), kind: 'private', path: '/installation/dataDir', label: 'keystore' },
  ];
  for (const { path, secret } of listSecrets(config))
    if (typeof secret === 'object' && 'file' in secret)
      files.push({ file: secret.file, kind: 'private', path, label: 'secret file' });
  config.sip.listen.forEach((listener, i) => {
    if (listener.privateKey !== undefined)
      files.push({
        file: listener.privateKey,
        kind: 'private',
        path: `/sip/listen/${i}/privateKey`,
        label: 'TLS private key',
      });
  });
  files.push(
    { file: dataDir, kind: 'directory', path: '/installation/dataDir', label: 'data directory' },
    { file: join(dataDir, 'recordings'), kind: 'directory', path: '/installation/dataDir', label: 'spool directory' },
  );
  return files;
}

function judge(entry: CheckedFile, mode: number, config: CallrecConfig): PermissionFinding[] {
  const { file, label } = entry;
  const shown = `${entry.path}: ${label} ${file} has mode ${octal(mode)}`;
  const finding = (severity: PermissionFinding['severity'], message: string): PermissionFinding[] => [
    { severity, file, mode, message },
  ];
  switch (entry.kind) {
    case 'config': {
      if ((mode & (GROUP_WRITE | OTHER_WRITE)) !== 0) {
        const who = (mode & OTHER_WRITE) !== 0 ? 'others' : 'its group';
        return finding(
          'error',
          `${shown}: writable by ${who}, who could change who is recorded; run chmod go-w ${file}`,
        );
      }
      const literal = listSecrets(config).some(({ secret }) => typeof secret === 'string');
      if (literal && (mode & OTHER_READ) !== 0)
        return finding(
          'warning',
          `${shown}: readable by others and holds literal secrets; run chmod 600 ${file} or use { "env": … } / { "file": … }`,
        );
      return [];
    }
    case 'private': {
      if ((mode & (OTHER_READ | OTHER_WRITE)) !== 0) {
        const what = (mode & OTHER_READ) !== 0 ? 'readable' : 'writable';
        return finding('error', `${shown}: ${what} by others; run chmod 600 ${file}`);
      }
      if ((mode & (GROUP_READ | GROUP_WRITE)) !== 0)
        return finding('warning', `${shown}: accessible by its group; run chmod 600 ${file}`);
      return [];
    }
    case 'directory':
      if ((mode & 0o077) !== 0)
        return finding('warning', `${shown}: recordings should be private to callrec; run chmod 700 ${file}`);
      return [];
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
