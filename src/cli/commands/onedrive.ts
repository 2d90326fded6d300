import { mkdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Agent } from 'undici';
import {
  authorizeUrl,
  createPkcePair,
  createState,
  OneDriveAuth,
  parseAuthorizationResponse,
} from '../../archive/targets/onedrive-auth.js';
import { oneDriveEndpoints, type OneDriveBaseUrls } from '../../archive/targets/onedrive-endpoints.js';
import { OneDriveTokenStore } from '../../archive/targets/onedrive-token-store.js';
import { loadConfig, resolveSecret, type CallrecConfig, type OneDriveTargetConfig } from '../../config/index.js';
import { AppError } from '../../errors.js';
import { openKeyStore, writeFileAtomic } from '../../integrity/index.js';

/** Where the `onedrive` commands write: `log` for results, `error` for errors and warnings. */
export interface OnedriveCommandOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Test hooks: other Microsoft endpoints, another environment for `{ env }` secrets. */
export interface OnedriveCommandOverrides {
  readonly baseUrls?: OneDriveBaseUrls;
  readonly env?: NodeJS.ProcessEnv;
}

/** What `authorize` leaves for `redeem`: the state to compare and the PKCE verifier (mode 0600). */
interface PendingConsent {
  readonly v: 1;
  readonly state: string;
  readonly codeVerifier: string;
  readonly createdAt: string;
}

const PRIVATE_FILE_MODE = 0o600;
const DATA_DIR_MODE = 0o700;

/**
 * `callrec onedrive authorize [target]`: prints the consent URL of the OAuth 2.0 authorization
 * code flow for the OneDrive target (the only one, or `targetId`), with a random `state` and a
 * PKCE challenge whose verifier waits in `<dataDir>/onedrive-<id>.pending` for `redeem`.
 * 0 printed, 2 invalid config / unknown target / I/O.
 */
export async function runOnedriveAuthorize(
  configPath: string,
  targetId: string | undefined,
  out: OnedriveCommandOutput,
  overrides: OnedriveCommandOverrides = {},
): Promise<number> {
  const loaded = await loadTarget(configPath, targetId, out);
  if (loaded === undefined) return 2;
  const { config, target } = loaded;
  try {
    oneDriveEndpoints(target.cloud); // refuses a closed cloud before anything is written
    const state = createState();
    const pkce = createPkcePair();
    const pending: PendingConsent = {
      v: 1,
      state,
      codeVerifier: pkce.verifier,
      createdAt: new Date().toISOString(),
    };
    await mkdir(config.installation.dataDir, { recursive: true, mode: DATA_DIR_MODE });
    await writeFileAtomic(pendingPath(config, target), `${JSON.stringify(pending)}\n`, { mode: PRIVATE_FILE_MODE });
    const url = authorizeUrl({
      cloud: target.cloud,
      tenant: target.tenant,
      clientId: target.clientId,
      redirectUri: target.redirectUri,
      driveId: target.driveId,
      state,
      codeChallenge: pkce.challenge,
      baseUrls: overrides.baseUrls,
    });
    out.log(`OneDrive target: ${target.id} (cloud ${target.cloud}, tenant ${target.tenant})`);
    out.log('Open this address in a browser, sign in with the account that receives the recordings and consent:');
    out.log(url);
    out.log(
      `Then run: callrec onedrive redeem <code>${targetId === undefined ? '' : ` ${target.id}`}` +
        ' — paste the code, or the whole address the browser ended on (codes expire after about 10 minutes).',
    );
    return 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec onedrive authorize: ${error.message}`);
    return 2;
  }
}

/**
 * `callrec onedrive redeem <code> [target]`: redeems the code the consent page returned (or the
 * whole redirect address; its `state` must match the last `authorize`) and stores the refresh
 * token encrypted with the installation key in `<dataDir>/onedrive-<id>.token`. Never prints a
 * token. 0 stored, 1 refused (wrong code, state mismatch, consent denied), 2 invalid config,
 * keystore or network trouble.
 */
export async function runOnedriveRedeem(
  configPath: string,
  code: string,
  targetId: string | undefined,
  out: OnedriveCommandOutput,
  overrides: OnedriveCommandOverrides = {},
): Promise<number> {
  const loaded = await loadTarget(configPath, targetId, out);
  if (loaded === undefined) return 2;
  const { config, target, baseDir } = loaded;
  const secretOptions = { env: overrides.env };
  let password: string;
  let clientSecret: string | undefined;
  try {
    password = await resolveSecret(config.installation.keystorePassword, baseDir, secretOptions);
    clientSecret =
      target.clientSecret === undefined ? undefined : await resolveSecret(target.clientSecret, baseDir, secretOptions);
  } catch (error) {
    out.error(`callrec onedrive redeem: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const dispatcher = new Agent();
  try {
    const answer = parseAuthorizationResponse(code);
    const pending = await readPending(pendingPath(config, target));
    if (answer.state !== undefined && pending !== undefined && answer.state !== pending.state) {
      out.error(
        'callrec onedrive redeem: the state does not match the last "callrec onedrive authorize"; run it again',
      );
      return 1;
    }
    const keyStore = await openKeyStore({
      dataDir: config.installation.dataDir,
      password,
      keySize: config.installation.keySize,
    });
    for (const warning of keyStore.warnings) out.error(`warning: ${warning}`);
    const store = new OneDriveTokenStore({
      dataDir: config.installation.dataDir,
      targetId: target.id,
      signer: keyStore,
    });
    const auth = new OneDriveAuth({
      cloud: target.cloud,
      tenant: target.tenant,
      clientId: target.clientId,
      clientSecret,
      redirectUri: target.redirectUri,
      driveId: target.driveId,
      store,
      dispatcher,
      baseUrls: overrides.baseUrls,
    });
    await auth.redeemCode(answer.code, pending === undefined ? {} : { codeVerifier: pending.codeVerifier });
    await unlink(pendingPath(config, target)).catch(() => undefined);
    out.log(`OneDrive target: ${target.id}`);
    out.log(`refresh token stored (encrypted) in ${store.path}`);
    return 0;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    out.error(`callrec onedrive redeem: ${error.message}`);
    return error.code === 'ARCHIVE_AUTH' ? 1 : 2;
  } finally {
    await dispatcher.close();
  }
}

/** The config and the chosen OneDrive target; prints why and returns `undefined` when there is none. */
async function loadTarget(
  configPath: string,
  targetId: string | undefined,
  out: OnedriveCommandOutput,
): Promise<{ config: CallrecConfig; target: OneDriveTargetConfig; baseDir: string } | undefined> {
  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) out.error(`${error.path === '' ? '/' : error.path}: ${error.message}`);
    out.error(`callrec: invalid config ${configPath}`);
    return undefined;
  }
  const { config } = loaded;
  const onedrive = config.targets.filter((t): t is OneDriveTargetConfig => t.type === 'onedrive');
  let target: OneDriveTargetConfig | undefined;
  if (targetId !== undefined) {
    const named = config.targets.find((t) => t.id === targetId);
    if (named === undefined) out.error(`callrec onedrive: no target "${targetId}" in ${configPath}`);
    else if (named.type !== 'onedrive')
      out.error(`callrec onedrive: target "${targetId}" is ${named.type}, not onedrive`);
    else target = named;
  } else if (onedrive.length === 1) {
    target = onedrive[0];
  } else if (onedrive.length === 0) {
    out.error(`callrec onedrive: ${configPath} has no onedrive target`);
  } else {
    out.error(`callrec onedrive: several onedrive targets (${onedrive.map((t) => t.id).join(', ')}); name one`);
  }
  return target === undefined ? undefined : { config, target, baseDir: dirname(resolve(configPath)) };
}

function pendingPath(config: CallrecConfig, target: OneDriveTargetConfig): string {
  return join(config.installation.dataDir, `onedrive-${target.id}.pending`);
}

async function readPending(path: string): Promise<PendingConsent | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('ARCHIVE_IO', `cannot read ${path}`, { cause: error });
  }
  try {
    const value = JSON.parse(text) as Partial<PendingConsent>;
    if (typeof value.state === 'string' && typeof value.codeVerifier === 'string') return value as PendingConsent;
  } catch {
    // fall through
  }
  throw new AppError('ARCHIVE_IO', `${path} is damaged; run "callrec onedrive authorize" again`);
}
