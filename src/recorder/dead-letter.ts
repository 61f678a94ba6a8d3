/**
 * Dead letters: rows PostgreSQL refuses for their content or size (SQLSTATE class 22, 23, 54) and
 * spooled lines that are not rows at all. Each becomes one JSON line in `dead-letter.jsonl` beside
 * the spool segments — `{at, source, sqlstate, error, columns}` with the row's columns as COPY text
 * — so an operator can see what was refused and why, fix and re-import it. Every text goes through
 * the same redaction as a row (the database's message may quote anything; a damaged line was never
 * a row). The file is bounded (`maxBytes`); past it rows are only counted. It lives in the spool
 * directory and is opened like every spool file (spool-trust.ts): never through a symlink, only as
 * this user's file, made 0600 if others could read it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { COLUMNS } from './copy-format';
import { redactString } from './redact';
import { OPEN_APPEND, openPrivate, PrivateDir, UnsafeSpoolError } from './spool-trust';

export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

export interface DeadLetter {
  at: string;
  source: 'write' | 'replay';
  sqlstate: string | null;
  error: string;
  /** Column → COPY text field (`\N` is NULL), or `line` when the text is not a row. */
  columns?: Record<string, string>;
  line?: string;
}

export class DeadLetters {
  readonly file: string;
  private readonly dir: PrivateDir;
  private bytes: number | null = null;

  /** `dir`: the spool's directory guard (one refusal covers both), or a path. */
  constructor(
    dir: PrivateDir | string,
    private readonly maxBytes: number,
  ) {
    this.dir = typeof dir === 'string' ? new PrivateDir(dir) : dir;
    this.file = path.join(this.dir.path, DEAD_LETTER_FILE);
  }

  /**
   * Appends one dead letter; false when the file is full (the row is then lost, and counted).
   * Throws UnsafeSpoolError when the directory or the file is not to be trusted.
   */
  add(line: string, source: 'write' | 'replay', sqlstate: string | null, error: string): boolean {
    if (!this.dir.usable(true)) throw new UnsafeSpoolError(this.dir.refusal ?? 'spool directory refused');
    const fields = line.replace(/\n$/, '').split('\t');
    const entry: DeadLetter = { at: new Date().toISOString(), source, sqlstate, error: redactString(error.slice(0, 1000)) };
    if (fields.length === COLUMNS.length) entry.columns = Object.fromEntries(COLUMNS.map((c, i) => [c, redactString(fields[i])]));
    else entry.line = redactString(line.slice(0, 64 * 1024));
    const text = `${JSON.stringify(entry)}\n`;
    const fd = openPrivate(this.file, OPEN_APPEND);
    try {
      this.bytes ??= fs.fstatSync(fd).size;
      const size = Buffer.byteLength(text);
      if (this.bytes + size > this.maxBytes) return false;
      fs.writeSync(fd, text);
      this.bytes += size;
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }
}
