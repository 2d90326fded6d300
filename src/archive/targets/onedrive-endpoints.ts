import { AppError } from '../../errors.js';

/**
 * Microsoft cloud a OneDrive target lives in (the config's `cloud`). `usgov` is GCC High,
 * `usgov-dod` the DoD cloud, `china` the cloud operated by 21Vianet. `germany` (Microsoft Cloud
 * Deutschland) was closed in 2021 and is refused with `ARCHIVE_CONFIG`.
 */
export type OneDriveCloud = 'global' | 'usgov' | 'usgov-dod' | 'china' | 'germany';

/** Base URLs of one cloud: the Microsoft Entra ID authority and the Microsoft Graph v1.0 root. */
export interface OneDriveEndpoints {
  /** e.g. `https://login.microsoftonline.com` (no trailing slash). */
  readonly authority: string;
  /** e.g. `https://graph.microsoft.com/v1.0` (no trailing slash). */
  readonly graph: string;
}

/** Replacements for the cloud's base URLs (tests point them at a local fake). */
export interface OneDriveBaseUrls {
  readonly authority?: string;
  readonly graph?: string;
}

/**
 * The delegated permissions callrec asks for: `offline_access` for a refresh token, and
 * `Files.ReadWrite` for the signed-in user's own drive. A configured `driveId` may name a drive
 * the user can merely access (a SharePoint library): that needs `Files.ReadWrite.All`.
 */
export function oneDriveScopes(driveId?: string): string {
  return driveId === undefined ? 'offline_access Files.ReadWrite' : 'offline_access Files.ReadWrite.All';
}

/**
 * Roots per national cloud, from Microsoft's "Microsoft Graph national cloud deployments"
 * (learn.microsoft.com/graph/deployments): token service and Graph service root endpoints.
 */
const CLOUDS: Readonly<Record<Exclude<OneDriveCloud, 'germany'>, OneDriveEndpoints>> = {
  global: { authority: 'https://login.microsoftonline.com', graph: 'https://graph.microsoft.com/v1.0' },
  usgov: { authority: 'https://login.microsoftonline.us', graph: 'https://graph.microsoft.us/v1.0' },
  'usgov-dod': { authority: 'https://login.microsoftonline.us', graph: 'https://dod-graph.microsoft.us/v1.0' },
  china: { authority: 'https://login.chinacloudapi.cn', graph: 'https://microsoftgraph.chinacloudapi.cn/v1.0' },
};

/** The endpoints of `cloud`, with `overrides` applied; rejects unknown or closed clouds (`ARCHIVE_CONFIG`). */
export function oneDriveEndpoints(cloud: OneDriveCloud, overrides: OneDriveBaseUrls = {}): OneDriveEndpoints {
  if (cloud === 'germany') {
    throw new AppError(
      'ARCHIVE_CONFIG',
      'OneDrive cloud "germany": Microsoft Cloud Deutschland was closed; its tenants moved to the global cloud (use "global")',
    );
  }
  const base = Object.hasOwn(CLOUDS, cloud) ? CLOUDS[cloud] : undefined;
  if (base === undefined) throw new AppError('ARCHIVE_CONFIG', `unknown OneDrive cloud "${String(cloud)}"`);
  return {
    authority: trimSlash(overrides.authority ?? base.authority),
    graph: trimSlash(overrides.graph ?? base.graph),
  };
}

/** `{authority}/{tenant}/oauth2/v2.0/authorize` — where the admin consents. */
export function authorizeEndpoint(endpoints: OneDriveEndpoints, tenant: string): string {
  return `${endpoints.authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/authorize`;
}

/** `{authority}/{tenant}/oauth2/v2.0/token` — code redemption and refresh. */
export function tokenEndpoint(endpoints: OneDriveEndpoints, tenant: string): string {
  return `${endpoints.authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
}

/**
 * The cloud's redirect URI for native clients (`{authority}/common/oauth2/nativeclient`): the
 * browser lands there with `?code=…&state=…` in the address bar for the admin to copy.
 */
export function nativeClientRedirectUri(endpoints: OneDriveEndpoints): string {
  return `${endpoints.authority}/common/oauth2/nativeclient`;
}

/** OneDrive / SharePoint refuse these characters in names. */
const INVALID_NAME_CHARS = /["*:<>?/\\|\u0000-\u001f]/;

/** Folder segments of a target-relative path; rejects escapes and names OneDrive refuses. */
export function pathSegments(folder: string): string[] {
  if (folder.startsWith('/') || folder.startsWith('\\')) {
    throw new AppError('ARCHIVE_PATH', `folder "${folder}" must be relative to the target`);
  }
  return folder
    .split('/')
    .filter((segment) => segment !== '')
    .map(checkName);
}

/** `name` when OneDrive accepts it as a file or folder name, else `ARCHIVE_PATH`. */
export function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || INVALID_NAME_CHARS.test(name)) {
    throw new AppError('ARCHIVE_PATH', `"${name}" is not a valid OneDrive file or folder name`);
  }
  return name;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
