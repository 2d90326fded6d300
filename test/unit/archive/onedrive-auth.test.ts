// OneDrive OAuth 2.0 authorization code flow (SPEC §6, §11; issue 8), against a local fake of the
// Microsoft identity platform token endpoint:
// - the consent URL per national cloud: `{authority}/{tenant}/oauth2/v2.0/authorize` with
//   client_id, response_type=code, redirect_uri (default: the cloud's native-client URI),
//   response_mode=query, scope `offline_access Files.ReadWrite`, state, PKCE S256;
// - redemption POSTs grant_type=authorization_code (+ code_verifier, client_secret when set) and
//   stores the refresh token encrypted; refresh POSTs grant_type=refresh_token and stores the
//   rotated token; access tokens are cached until 60 s before expiry, one refresh at a time;
// - invalid_grant is ARCHIVE_AUTH, not retriable; 5xx ARCHIVE_IO and no connection
//   ARCHIVE_CONNECT, both retriable;
// - `callrec onedrive authorize | redeem`: prints the URL, keeps state + verifier, stores the
//   token encrypted (0600), never prints it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  authorizeUrl,
  createPkcePair,
  OneDriveAuth,
  parseAuthorizationResponse,
} from '../../../src/archive/targets/onedrive-auth.js';
import type { OneDriveCloud } from '../../../src/archive/targets/onedrive-endpoints.js';
import { OneDriveTokenStore, type RefreshTokenStore } from '../../../src/archive/targets/onedrive-token-store.js';
import { runOnedriveAuthorize, runOnedriveRedeem } from '../../../src/cli/commands/onedrive.js';
import { AppError } from '../../../src/errors.js';
import { openKeyStore } from '../../../src/integrity/index.js';
import { FakeGraph } from '../../support/fake-graph.js';
import { repoRoot } from '../../support/paths.js';

const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

class MemoryStore implements RefreshTokenStore {
  constructor(public token?: string) {}
  saves = 0;
  save(token: string): Promise<void> {
    this.token = token;
    this.saves++;
    return Promise.resolve();
  }
  load(): Promise<string | undefined> {
    return Promise.resolve(this.token);
  }
}

function appError(code: string, retriable: boolean): (error: unknown) => boolean {
  return (error) => error instanceof AppError && error.code === code && error.retriable === retriable;
}

let fake: FakeGraph;
let root: string;

before(async () => {
  fake = await FakeGraph.start();
  root = await mkdtemp(join(tmpdir(), 'callrec-onedrive-auth-'));
});

after(async () => {
  await fake.close();
  await rm(root, { recursive: true, force: true });
});

function tokenRequests(): URLSearchParams[] {
  return fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token')).map((r) => r.form ?? new URLSearchParams());
}

describe('authorizeUrl', () => {
  const clouds: [OneDriveCloud, string][] = [
    ['global', 'https://login.microsoftonline.com'],
    ['usgov', 'https://login.microsoftonline.us'],
    ['usgov-dod', 'https://login.microsoftonline.us'],
    ['china', 'https://login.chinacloudapi.cn'],
  ];
  for (const [cloud, authority] of clouds) {
    it(`builds the v2.0 authorize URL of the ${cloud} cloud (${authority})`, () => {
      const url = new URL(authorizeUrl({ cloud, tenant: 'contoso.onmicrosoft.com', clientId: CLIENT_ID, state: 's1' }));
      assert.equal(url.origin, authority);
      assert.equal(url.pathname, '/contoso.onmicrosoft.com/oauth2/v2.0/authorize');
      assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
      assert.equal(url.searchParams.get('response_type'), 'code');
      assert.equal(url.searchParams.get('response_mode'), 'query');
      assert.equal(url.searchParams.get('redirect_uri'), `${authority}/common/oauth2/nativeclient`);
      assert.equal(url.searchParams.get('scope'), 'offline_access Files.ReadWrite');
      assert.equal(url.searchParams.get('state'), 's1');
      assert.equal(url.searchParams.get('code_challenge'), null);
    });
  }

  it('carries a PKCE S256 challenge, a configured redirect URI, and .All scopes for a driveId', () => {
    const pkce = createPkcePair();
    assert.match(pkce.verifier, /^[A-Za-z0-9_-]{43,128}$/);
    assert.equal(pkce.challenge, createHash('sha256').update(pkce.verifier).digest('base64url'));
    const url = new URL(
      authorizeUrl({
        cloud: 'global',
        tenant: 'common',
        clientId: CLIENT_ID,
        state: 'x',
        redirectUri: 'http://localhost:8400/callback',
        codeChallenge: pkce.challenge,
        driveId: 'b!abc',
      }),
    );
    assert.equal(url.searchParams.get('code_challenge'), pkce.challenge);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('redirect_uri'), 'http://localhost:8400/callback');
    assert.equal(url.searchParams.get('scope'), 'offline_access Files.ReadWrite.All');
  });

  it('refuses the closed germany cloud with ARCHIVE_CONFIG', () => {
    assert.throws(
      () => authorizeUrl({ cloud: 'germany', tenant: 'common', clientId: CLIENT_ID, state: 'x' }),
      appError('ARCHIVE_CONFIG', false),
    );
  });
});

describe('parseAuthorizationResponse', () => {
  it('accepts the bare code, the redirect address, or its query string', () => {
    assert.deepEqual(parseAuthorizationResponse('  M.abc-123 \n'), { code: 'M.abc-123' });
    assert.deepEqual(
      parseAuthorizationResponse('https://login.microsoftonline.com/common/oauth2/nativeclient?code=M.x%2By&state=s9'),
      { code: 'M.x+y', state: 's9' },
    );
    assert.deepEqual(parseAuthorizationResponse('code=abc&state=s'), { code: 'abc', state: 's' });
  });

  it('turns an error answer into ARCHIVE_AUTH', () => {
    assert.throws(
      () => parseAuthorizationResponse('https://x/nativeclient?error=access_denied&error_description=user+cancelled'),
      (error: unknown) => appError('ARCHIVE_AUTH', false)(error) && /access_denied/.test(String(error)),
    );
  });
});

describe('OneDriveAuth', () => {
  const auth = (store: RefreshTokenStore, extra: { clientSecret?: string; now?: () => number } = {}): OneDriveAuth =>
    new OneDriveAuth({
      cloud: 'global',
      tenant: 'contoso',
      clientId: CLIENT_ID,
      store,
      baseUrls: fake.baseUrls,
      ...extra,
    });

  it('redeems the code with the documented form and stores the refresh token encrypted (0600)', async () => {
    const keyStore = await openKeyStore({ dataDir: join(root, 'keys'), password: 'pw' });
    const store = new OneDriveTokenStore({ dataDir: join(root, 'keys'), targetId: 'cloud', signer: keyStore });
    const pkce = createPkcePair();
    const sent = tokenRequests().length;
    await auth(store).redeemCode(fake.issueCode(pkce.challenge), { codeVerifier: pkce.verifier });
    const form = tokenRequests()[sent]!;
    const request = fake.requests.find((r) => r.form === form)!;
    assert.equal(request.path, '/contoso/oauth2/v2.0/token');
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('client_id'), CLIENT_ID);
    assert.equal(form.get('redirect_uri'), `${fake.base}/common/oauth2/nativeclient`);
    assert.equal(form.get('scope'), 'offline_access Files.ReadWrite');
    assert.equal(form.get('code_verifier'), pkce.verifier);
    assert.equal(form.has('client_secret'), false);
    const token = await store.load();
    assert.ok(token !== undefined && token.startsWith('rt-'));
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(store.path, 'utf8')).includes(token));
  });

  it('sends client_secret for a confidential app registration', async () => {
    const store = new MemoryStore();
    await auth(store, { clientSecret: 'app-secret' }).redeemCode(fake.issueCode());
    assert.equal(tokenRequests().at(-1)!.get('client_secret'), 'app-secret');
  });

  it('refreshes with grant_type=refresh_token, stores the rotated token and caches until expiry − 60 s', async () => {
    const first = fake.issueRefreshToken();
    const store = new MemoryStore(first);
    let now = 1_000_000;
    const client = auth(store, { now: () => now });
    const sent = tokenRequests().length;
    const token = await client.accessToken();
    const form = tokenRequests().at(-1)!;
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('refresh_token'), first);
    assert.equal(form.get('scope'), 'offline_access Files.ReadWrite');
    assert.notEqual(store.token, first, 'the rotated refresh token replaced the old one');
    assert.equal(await client.accessToken(), token, 'cached');
    now += 3600_000 - 61_000;
    assert.equal(await client.accessToken(), token, 'still cached 61 s before expiry');
    now += 2_000;
    const renewed = await client.accessToken();
    assert.notEqual(renewed, token, 'refreshed within 60 s of expiry');
    assert.equal(tokenRequests().length - sent, 2);
    assert.equal(store.saves, 2);
  });

  it('shares one refresh between concurrent callers; forceRefresh skips the cache', async () => {
    const client = auth(new MemoryStore(fake.issueRefreshToken()));
    const sent = tokenRequests().length;
    const tokens = await Promise.all([client.accessToken(), client.accessToken(), client.accessToken()]);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(tokenRequests().length - sent, 1);
    assert.notEqual(await client.accessToken({ forceRefresh: true }), tokens[0]);
  });

  it('invalid_grant is ARCHIVE_AUTH, not retriable, and names neither token', async () => {
    const stale = fake.issueRefreshToken();
    fake.revokeRefreshTokens();
    await assert.rejects(
      auth(new MemoryStore(stale)).accessToken(),
      (error: unknown) =>
        appError('ARCHIVE_AUTH', false)(error) && /invalid_grant/.test(String(error)) && !String(error).includes(stale),
    );
    await assert.rejects(auth(new MemoryStore()).redeemCode('no-such-code'), appError('ARCHIVE_AUTH', false));
  });

  it('a wrong PKCE verifier is refused (ARCHIVE_AUTH)', async () => {
    const pkce = createPkcePair();
    const code = fake.issueCode(pkce.challenge);
    await assert.rejects(
      auth(new MemoryStore()).redeemCode(code, { codeVerifier: createPkcePair().verifier }),
      appError('ARCHIVE_AUTH', false),
    );
  });

  it('without a stored token asks for authorization (ARCHIVE_AUTH)', async () => {
    await assert.rejects(
      auth(new MemoryStore()).accessToken(),
      (error: unknown) => appError('ARCHIVE_AUTH', false)(error) && /onedrive authorize/.test(String(error)),
    );
  });

  it('5xx and temporarily_unavailable are retriable ARCHIVE_IO; no connection is retriable ARCHIVE_CONNECT', async () => {
    fake.failTokenRequests(1, 503, 'server_error');
    await assert.rejects(auth(new MemoryStore(fake.issueRefreshToken())).accessToken(), appError('ARCHIVE_IO', true));
    fake.failTokenRequests(1, 400, 'temporarily_unavailable');
    await assert.rejects(auth(new MemoryStore(fake.issueRefreshToken())).accessToken(), appError('ARCHIVE_IO', true));
    const closed = new OneDriveAuth({
      cloud: 'global',
      clientId: CLIENT_ID,
      store: new MemoryStore('rt'),
      baseUrls: { authority: 'http://127.0.0.1:1' },
    });
    await assert.rejects(closed.accessToken(), appError('ARCHIVE_CONNECT', true));
  });
});

describe('callrec onedrive authorize | redeem', () => {
  interface Captured {
    log: string[];
    error: string[];
  }
  let counter = 0;

  async function setup(extraTargets: unknown[] = []): Promise<{ configPath: string; dataDir: string }> {
    const dir = join(root, `cli-${++counter}`);
    await mkdir(dir);
    const config = JSON.parse(await readFile(join(repoRoot, 'config', 'callrec.example.json'), 'utf8')) as {
      installation: Record<string, unknown>;
      targets: Record<string, unknown>[];
      $schema?: string;
    };
    delete config.$schema;
    const dataDir = join(dir, 'var');
    config.installation = { ...config.installation, dataDir, keystorePassword: 'cli-password' };
    for (const target of config.targets) if (target.type === 'onedrive') target.clientId = CLIENT_ID;
    config.targets.push(...(extraTargets as Record<string, unknown>[]));
    const configPath = join(dir, 'callrec.json');
    await writeFile(configPath, JSON.stringify(config));
    return { configPath, dataDir };
  }

  function capture(): { out: Captured; sink: { log(line: string): void; error(line: string): void } } {
    const out: Captured = { log: [], error: [] };
    return { out, sink: { log: (l) => out.log.push(l), error: (l) => out.error.push(l) } };
  }

  it('authorize prints the consent URL; redeem of the redirect address stores the token, never printing it', async () => {
    const { configPath, dataDir } = await setup();
    const first = capture();
    assert.equal(await runOnedriveAuthorize(configPath, undefined, first.sink, { baseUrls: fake.baseUrls }), 0);
    const urlLine = first.out.log.find((line) => line.startsWith(fake.base))!;
    const consent = new URL(urlLine);
    assert.equal(consent.pathname, '/common/oauth2/v2.0/authorize');
    assert.equal(consent.searchParams.get('client_id'), CLIENT_ID);
    assert.match(first.out.log.join('\n'), /OneDrive target: cloud/);
    const pending = join(dataDir, 'onedrive-cloud.pending');
    assert.equal((await stat(pending)).mode & 0o777, 0o600);

    const code = fake.issueCode(consent.searchParams.get('code_challenge')!);
    const redirect = `${fake.base}/common/oauth2/nativeclient?code=${code}&state=${consent.searchParams.get('state')!}`;
    const second = capture();
    assert.equal(await runOnedriveRedeem(configPath, redirect, undefined, second.sink, { baseUrls: fake.baseUrls }), 0);
    const printed = second.out.log.join('\n');
    assert.match(printed, /OneDrive target: cloud/);
    assert.match(printed, /refresh token stored \(encrypted\)/);
    const tokenFile = join(dataDir, 'onedrive-cloud.token');
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
    const keyStore = await openKeyStore({ dataDir, password: 'cli-password' });
    const token = await new OneDriveTokenStore({ dataDir, targetId: 'cloud', signer: keyStore }).load();
    assert.ok(token !== undefined);
    assert.ok(![...first.out.log, ...second.out.log, ...second.out.error].join('\n').includes(token));
    await assert.rejects(stat(pending), { code: 'ENOENT' });
  });

  it('redeem refuses a state that does not match the last authorize (exit 1) and a bad code (exit 1)', async () => {
    const { configPath } = await setup();
    assert.equal(await runOnedriveAuthorize(configPath, 'cloud', capture().sink, { baseUrls: fake.baseUrls }), 0);
    const wrongState = capture();
    const answer = `?code=${fake.issueCode()}&state=forged`;
    assert.equal(await runOnedriveRedeem(configPath, answer, 'cloud', wrongState.sink, { baseUrls: fake.baseUrls }), 1);
    assert.match(wrongState.out.error.join('\n'), /state does not match/);
    const badCode = capture();
    assert.equal(
      await runOnedriveRedeem(configPath, 'nonsense', 'cloud', badCode.sink, { baseUrls: fake.baseUrls }),
      1,
    );
    assert.match(badCode.out.error.join('\n'), /invalid_grant/);
  });

  it('needs a target id when several onedrive targets exist, and refuses a non-onedrive one (exit 2)', async () => {
    const { configPath } = await setup([{ id: 'cloud2', type: 'onedrive', clientId: CLIENT_ID }]);
    const several = capture();
    assert.equal(await runOnedriveAuthorize(configPath, undefined, several.sink), 2);
    assert.match(several.out.error.join('\n'), /several onedrive targets \(cloud, cloud2\)/);
    const wrongType = capture();
    assert.equal(await runOnedriveAuthorize(configPath, 'mounted', wrongType.sink), 2);
    assert.match(wrongType.out.error.join('\n'), /is local, not onedrive/);
    assert.equal(await runOnedriveAuthorize(configPath, 'cloud2', capture().sink), 0);
  });
});
