import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AppError } from '../errors.js';
import type { CallrecConfig, Secret } from './types.js';

/** Options of `resolveSecret`. */
export interface ResolveSecretOptions {
  /** Environment to read `{ env }` secrets from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where a secret sits in the config, for messages and `config check`. */
export interface SecretLocation {
  /** JSON pointer, e.g. `/installation/keystorePassword`. */
  readonly path: string;
  readonly secret: Secret;
}

/**
 * The value of a secret. Errors (AppError CONFIG_SECRET) name the environment variable or the
 * file, never the value. A file's trailing line break is removed; relative files resolve
 * against `baseDir`.
 */
export async function resolveSecret(
  secret: Secret,
  baseDir: string,
  options: ResolveSecretOptions = {},
): Promise<string> {
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const value = (options.env ?? process.env)[secret.env];
    if (value === undefined) {
      throw new AppError('CONFIG_SECRET', `environment variable ${secret.env} is not set`);
    }
    if (value === '') throw new AppError('CONFIG_SECRET', `environment variable ${secret.env} is empty`);
    return value;
  }
  const file = resolve(baseDir, secret.file);
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new AppError('CONFIG_SECRET', `cannot read secret file ${file} (${code})`, { cause: error });
  }
  const value = content.replace(/\r?\n$/, '');
  if (value === '') throw new AppError('CONFIG_SECRET', `secret file ${file} is empty`);
  return value;
}

/** A human description of where a secret comes from, safe to log (never the value). */
export function describeSecret(secret: Secret): string {
  if (typeof secret === 'string') return 'literal value in the config';
  if ('env' in secret) return `environment variable ${secret.env}`;
  return `file ${secret.file}`;
}

/** Every secret in a loaded config with its JSON pointer, in document order. */
export function listSecrets(config: CallrecConfig): SecretLocation[] {
  const found: SecretLocation[] = [];
  const add = (path: string, secret: Secret | undefined): void => {
    if (secret !== undefined) found.push({ path, secret });
  };
  add('/installation/keystorePassword', config.installation.keystorePassword);
  config.sip.listen.forEach((listener, i) => add(`/sip/listen/${i}/passphrase`, listener.passphrase));
  config.targets.forEach((target, i) => {
    switch (target.type) {
      case 'smb':
        add(`/targets/${i}/password`, target.password);
        break;
      case 'sftp':
        add(`/targets/${i}/password`, target.password);
        add(`/targets/${i}/privateKey`, target.privateKey);
        add(`/targets/${i}/passphrase`, target.passphrase);
        break;
      case 'onedrive':
        add(`/targets/${i}/clientSecret`, target.clientSecret);
        break;
      case 'local':
        break;
    }
  });
  add('/email/smtp/password', config.email?.smtp.password);
  add('/admin/http/token', config.admin.http.token);
  return found;
}
