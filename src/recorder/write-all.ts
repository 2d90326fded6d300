import { open, type FileHandle } from 'node:fs/promises';

/** Writes `buf[0..len)` at `position`, however many writes it takes. */
export async function writeAll(handle: FileHandle, buf: Buffer, len: number, position: number): Promise<void> {
  for (let done = 0; done < len;) {
    const { bytesWritten } = await handle.write(buf, done, len - done, position + done);
    done += bytesWritten;
  }
}

/** fsyncs a directory so the new file's entry survives a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error; // cannot fsync dirs here
  } finally {
    await handle.close();
  }
}
