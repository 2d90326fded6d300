import { AppError, type ErrorCode } from '../../errors.js';

/*
 * What the SMB target (smb-target.ts) knows about smbclient's text: listing lines, NT_STATUS
 * message lines and how they map to AppErrors, and the names smbclient's `-c` can carry safely.
 */

/** A listing entry as smbclient's `ls` prints it. */
export interface SmbListEntry {
  readonly name: string;
  readonly attributes: string;
  readonly size: number;
}

/** A set of `NT_STATUS_<name>` from space-separated names. */
function statuses(names: string): ReadonlySet<string> {
  return new Set(names.split(/\s+/).map((name) => `NT_STATUS_${name}`));
}
export const NOT_FOUND = statuses('OBJECT_NAME_NOT_FOUND OBJECT_PATH_NOT_FOUND NO_SUCH_FILE NOT_FOUND');
export const COLLISION = statuses('OBJECT_NAME_COLLISION');
export const NONE: ReadonlySet<string> = new Set();
export const AUTH_STATUSES = statuses(
  'LOGON_FAILURE WRONG_PASSWORD NO_SUCH_USER ACCOUNT_DISABLED ACCOUNT_LOCKED_OUT ACCOUNT_RESTRICTION ' +
    'ACCOUNT_EXPIRED PASSWORD_EXPIRED PASSWORD_MUST_CHANGE INVALID_LOGON_HOURS INVALID_WORKSTATION ' +
    'LOGON_TYPE_NOT_GRANTED NTLM_BLOCKED',
);
export const CONNECT_STATUSES = statuses(
  'CONNECTION_REFUSED IO_TIMEOUT HOST_UNREACHABLE NETWORK_UNREACHABLE PORT_UNREACHABLE CONNECTION_RESET ' +
    'CONNECTION_DISCONNECTED CONNECTION_ABORTED NETWORK_NAME_DELETED PIPE_BROKEN NETWORK_BUSY ' +
    'REQUEST_NOT_ACCEPTED INSUFF_SERVER_RESOURCES',
);
export const CONFIG_STATUSES = statuses('BAD_NETWORK_NAME BAD_NETWORK_PATH');
export const PATH_STATUSES = statuses(
  'OBJECT_NAME_INVALID OBJECT_PATH_SYNTAX_BAD OBJECT_PATH_INVALID NOT_A_DIRECTORY FILE_IS_A_DIRECTORY',
);
/**
 * Characters a name may not contain: Windows-reserved ones, wildcards (`del`/`ls` take masks), `"`
 * (smbclient's only quote, without escapes), `;` (smbclient splits `-c` at every `;`, even quoted)
 * and control characters.
 */
const FORBIDDEN = /[\u0000-\u001f\u007f"*?<>|:;\\]/;
// `  name   attributes  size  Mon Nov 23 13:26:14 2026` (smbclient's display_finfo)
const LS_LINE = /^ {2}(.+?) *([A-Za-z]{0,8}) +(\d+) {2}[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

export interface StatusLine {
  readonly status: string;
  readonly line: string;
}

/** Parses smbclient `ls` output (messages and listing, as printed with `-E`); `.` and `..` left out. */
export function parseSmbListing(text: string): SmbListEntry[] {
  const entries: SmbListEntry[] = [];
  for (const line of text.split('\n')) {
    const match = LS_LINE.exec(line.replace(/\r$/, ''));
    if (match === null) continue;
    const [, name = '', attributes = '', size = '0'] = match;
    if (name === '.' || name === '..') continue;
    entries.push({ name, attributes, size: Number(size) });
  }
  return entries;
}

/** The NT_STATUS codes of smbclient's message lines (listing lines start with blanks and are skipped). */
export function statusLines(text: string): StatusLine[] {
  const found: StatusLine[] = [];
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) || line.startsWith('Error in dskattr')) continue;
    const match = /NT_STATUS_[A-Z0-9_]+/.exec(line);
    if (match !== null) found.push({ status: match[0], line: line.trim() });
  }
  return found;
}

export function quote(path: string): string {
  return `"${path}"`;
}

export function checkName(name: string, what: string): void {
  if (
    name === '' ||
    name === '.' ||
    name === '..' ||
    name.includes('/') ||
    FORBIDDEN.test(name) ||
    name.trim() !== name
  ) {
    throw new AppError('ARCHIVE_PATH', `smb: ${what} ${JSON.stringify(name)} is not a valid SMB name`);
  }
}

/** `a/b/c` → segments, validated; `''` is the share's root. */
export function folderSegments(folder: string): string[] {
  if (folder === '') return [];
  if (folder.startsWith('/')) throw new AppError('ARCHIVE_PATH', `smb: folder ${JSON.stringify(folder)} is absolute`);
  const segments = folder.split('/').filter((s) => s !== '');
  for (const segment of segments) checkName(segment, 'folder segment');
  return segments;
}

export function remotePath(folder: string, name: string): string {
  checkName(name, 'file name');
  return [...folderSegments(folder), name].join('/');
}

/** The AppError code of an NT_STATUS message line, and whether trying again may help. */
export function classifyStatus({ status, line }: StatusLine): { code: ErrorCode; retriable: boolean } {
  const atLogin = /^(session setup failed|tree connect failed)/.test(line);
  if (AUTH_STATUSES.has(status) || (status === 'NT_STATUS_ACCESS_DENIED' && atLogin)) {
    return { code: 'ARCHIVE_AUTH', retriable: false };
  }
  if (
    CONFIG_STATUSES.has(status) ||
    /^protocol negotiation failed: NT_STATUS_(INVALID_NETWORK_RESPONSE|NOT_SUPPORTED)/.test(line)
  ) {
    return { code: 'ARCHIVE_CONFIG', retriable: false };
  }
  if (CONNECT_STATUSES.has(status) || line.startsWith('do_connect:'))
    return { code: 'ARCHIVE_CONNECT', retriable: true };
  if (PATH_STATUSES.has(status)) return { code: 'ARCHIVE_PATH', retriable: false };
  return { code: 'ARCHIVE_IO', retriable: true };
}
