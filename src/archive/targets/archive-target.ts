/**
 * One archive destination (SPEC §6): an SMB share, an SFTP server, a OneDrive, a local path.
 * Paths are relative to the target's root, `/`-separated, already expanded from the folder
 * template and checked (no `..`, not absolute). Every method rejects with AppError `ARCHIVE_*`
 * (`retriable` true for network/server trouble, false for configuration errors such as a wrong
 * password or a missing share).
 */
export interface ArchiveTarget {
  /** The config id, for logs and the queue. */
  readonly id: string;
  /** smb | sftp | onedrive | local. */
  readonly type: string;
  /** Creates `folder` and its parents if missing (idempotent). */
  ensureFolder(folder: string): Promise<void>;
  /**
   * Uploads the local file to `folder/name` without ever making a partial file visible under
   * `name`: written to a temporary name in the same folder, then renamed over `name` (replacing
   * an earlier copy of the same recording). A temporary left by an interrupted upload is
   * replaced.
   */
  upload(localPath: string, folder: string, name: string): Promise<void>;
  /**
   * The SHA-256 (hex, lower case) of `folder/name` as stored: read back and hashed locally, or a
   * server-side hash where the target offers SHA-256. `undefined` when the file does not exist.
   */
  sha256(folder: string, name: string): Promise<string | undefined>;
  /** Size in bytes, `undefined` when missing. */
  size(folder: string, name: string): Promise<number | undefined>;
  /**
   * Copies `folder/name` to the local file `localPath` (created with mode 0600, replaced if it
   * exists) for export when the spool copy is gone. Resolves `false`, leaving no local file, when
   * the remote file does not exist. The caller checks the bytes against the checksum file.
   */
  download(folder: string, name: string, localPath: string): Promise<boolean>;
  /** Deletes `folder/name` (retention, erasure); resolves also when it was already gone. */
  delete(folder: string, name: string): Promise<void>;
  /** Names in `folder` (temporary names included), `[]` when the folder is missing. */
  list(folder: string): Promise<string[]>;
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}

/** The temporary name an upload writes before its rename; recognisable so leftovers can be cleaned. */
export function temporaryName(name: string): string {
  return `.${name}.callrec-partial`;
}

/** Whether `name` is a temporary left by an upload. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.callrec-partial');
}
