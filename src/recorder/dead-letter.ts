/**
 * Dead letters: rows PostgreSQL refuses for their content or size (SQLSTATE class 22, 23, 54) and
 * spooled lines that are not rows at all. Each becomes one JSON line in `dead-letter.jsonl` beside
 * the spool segments — `{at, source, sqlstate, error, columns}` with the row's columns as COPY text
 * (already redacted like everything the recorder writes) — so an operator can see what was refused
 * and why, fix and re-import it. The file is bounded (`maxBytes`); past it rows are only counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { COLUMNS } from './copy-format';

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
  private bytes: number | null = null;

  constructor(
    dir: string,
    private readonly maxBytes: number,
  ) {
    this.file = path.join(dir, DEAD_LETTER_FILE);
  }

  /** Appends one dead letter; false when the file is full (the row is then lost, and counted). */
  add(line: string, source: 'write' | 'replay', sqlstate: string | null, error: string): boolean {
    const fields = line.replace(/\n$/, '').split('\t');
    const entry: DeadLetter = { at: new Date().toISOString(), source, sqlstate, error: error.slice(0, 1000) };
    if (fields.length === COLUMNS.length) entry.columns = Object.fromEntries(COLUMNS.map((c, i) => [c, fields[i]]));
    else entry.line = line.slice(0, 64 * 1024);
    const text = `${JSON.stringify(entry)}\n`;
    if (this.bytes === null) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      try {
        this.bytes = fs.statSync(this.file).size;
      } catch {
        this.bytes = 0;
      }
    }
    const size = Buffer.byteLength(text);
    if (this.bytes + size > this.maxBytes) return false;
    fs.appendFileSync(this.file, text, { mode: 0o600 });
    this.bytes += size;
    return true;
  }
}
