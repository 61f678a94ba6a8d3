/**
 * What the spool trusts. Everything in the spool directory is replayed into integration_logs as
 * the writer's role and the dead letters hold call data, so the directory must be this user's
 * alone: owned by the process's user and writable by nobody else. In a shared directory (another
 * user created `/tmp/x` first, mode 0777) that user could plant a symlink where a file is about to
 * be written, a world-readable file to be appended to, or a forged segment to be adopted. Such a
 * directory is refused as a whole — for the life of the recorder, which then keeps rows in memory
 * only — and, as a second line, every file is opened without following a symlink (`O_NOFOLLOW`,
 * new ones with `O_EXCL`) and what was opened is checked (`fstat`: a regular file of this user,
 * not writable by others).
 *
 * Where the process cannot know its user id (Windows; Deno without `--allow-sys`) only the symlink
 * and file-type checks apply.
 */
import fs from 'node:fs';

/** The spool directory or a file in it cannot be trusted; nothing was read from or written to it. */
export class UnsafeSpoolError extends Error {}

const C = fs.constants;
/** Not following a symlink; not blocking on a planted FIFO (its type is refused after open). */
const SAFE = (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0);
export const OPEN_READ = C.O_RDONLY | SAFE;
export const OPEN_APPEND = C.O_WRONLY | C.O_APPEND | C.O_CREAT | SAFE;
export const OPEN_NEW = C.O_WRONLY | C.O_APPEND | C.O_CREAT | C.O_EXCL | SAFE;
export const OPEN_REPLACE = C.O_WRONLY | C.O_CREAT | C.O_TRUNC | SAFE;

/** This process's user id; undefined where there is none (Windows) or it may not be asked (Deno without --allow-sys). */
function uid(): number | undefined {
  try {
    return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
  } catch {
    return undefined;
  }
}
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** Why `st` (the spool directory, or a file in it) is not to be trusted; null when it is. */
export function distrust(st: fs.Stats, kind: 'directory' | 'file'): string | null {
  if (kind === 'directory' ? !st.isDirectory() : !st.isFile()) return kind === 'directory' ? 'not a directory' : 'not a regular file';
  const me = uid();
  if (me !== undefined && st.uid !== me) return `owned by uid ${st.uid}, not by this process's uid ${me}`;
  if (me !== undefined && (st.mode & 0o022) !== 0) return `writable by other users (mode ${octal(st.mode)})`;
  return null;
}

/**
 * The spool directory, checked once: usable, or refused for good with the reason in `refusal`.
 * Shared by the spool and the dead letters, so that one refusal covers both.
 */
export class PrivateDir {
  refusal: string | null = null;
  private checked = false;

  constructor(readonly path: string) {}

  /**
   * Whether files may be read from and written to the directory. With `create`, a missing
   * directory is made (mode 0700); without, a missing one is simply not usable yet.
   */
  usable(create: boolean): boolean {
    if (this.refusal !== null) return false;
    if (this.checked) return true;
    if (create) fs.mkdirSync(this.path, { recursive: true, mode: 0o700 });
    let st: fs.Stats;
    try {
      st = fs.lstatSync(this.path);
      // A symlink is followed only when this user made it: another user's link may point anywhere.
      if (st.isSymbolicLink()) {
        const me = uid();
        if (me !== undefined && st.uid !== me) return this.refuse(`is a symbolic link owned by uid ${st.uid}`);
        st = fs.statSync(this.path);
      }
    } catch (e) {
      if (!create && (e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const why = distrust(st, 'directory');
    if (why) return this.refuse(`is ${why}`);
    this.checked = true;
    return true;
  }

  private refuse(why: string): false {
    const me = uid();
    this.refusal =
      `spool directory ${this.path} ${why}: refused, nothing is read from or written there; rows stay in memory (maxMemoryBytes) while the database is down, ` +
      `and dead letters are not kept. Use a directory owned by ${me === undefined ? 'this user' : `uid ${me}`} with mode 0700 that no other user can write to.`;
    return false;
  }
}

/**
 * Opens `file` with `flags` (one of the OPEN_* above), never through a symlink, and checks what was
 * opened. Throws UnsafeSpoolError (the descriptor closed) when it is not this user's regular file
 * or others may write to it; a file of this user that others may read is made 0600 first.
 */
export function openPrivate(file: string, flags: number): number {
  let fd: number;
  try {
    fd = fs.openSync(file, flags, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeSpoolError(`${file} is a symbolic link: not followed`);
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const why = distrust(st, 'file');
    if (why) throw new UnsafeSpoolError(`${file} is ${why}`);
    if ((st.mode & 0o077) !== 0 && uid() !== undefined) fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Opens `file` for reading, checked as openPrivate does; the caller closes it. */
export async function openPrivateForRead(file: string): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, OPEN_READ);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeSpoolError(`${file} is a symbolic link: not followed`);
    throw e;
  }
  try {
    const st = await handle.stat();
    const why = distrust(st, 'file');
    if (why) throw new UnsafeSpoolError(`${file} is ${why}`);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** Reads `len` bytes at `pos` (fewer at the end of the file), into `scratch` when it is big enough. */
export async function readAt(handle: fs.promises.FileHandle, pos: number, len: number, scratch?: Buffer): Promise<Buffer> {
  const buf = scratch && scratch.length >= len ? scratch : Buffer.allocUnsafe(len);
  let off = 0;
  while (off < len) {
    const { bytesRead } = await handle.read(buf, off, len - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** Reads at most `max` bytes of `file`, checked as openPrivate does; `max` bounds the memory used. */
export async function readPrivate(file: string, max: number): Promise<Buffer> {
  const { handle, size } = await openPrivateForRead(file);
  try {
    return await readAt(handle, 0, Math.min(size, max));
  } finally {
    await handle.close();
  }
}
