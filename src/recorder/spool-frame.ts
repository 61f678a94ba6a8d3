/**
 * Framing of spooled batches. Each `append` writes one frame:
 *
 *   #frame <rows> <bytes> <crc32 hex>\n<bytes of COPY lines>
 *
 * A COPY line starts with a row id (hex), never `#`, so a reader that meets damage (a checksum or
 * length that does not match, a file cut short) skips to the next `\n#frame ` and loses only the
 * damaged batch — and knows from its header how many rows that was.
 */
import { crc32 } from 'node:zlib';

const MARK = '#frame ';
const MARK_BUF = Buffer.from(MARK);
const RESYNC = Buffer.from(`\n${MARK}`);
const HEADER_RE = /^#frame (\d{1,9}) (\d{1,12}) ([0-9a-f]{1,8})$/;

export function encodeFrame(lines: string, rows: number): Buffer {
  const body = Buffer.from(lines, 'utf8');
  const head = Buffer.from(`${MARK}${rows} ${body.length} ${crc32(body).toString(16)}\n`);
  return Buffer.concat([head, body]);
}

/**
 * One batch as frames of at most about `maxChars` characters each (cut between lines; a single
 * longer line goes alone), so that one huge batch never makes a huge frame: segments stay near
 * their rotation size and a reader never needs much memory for one frame.
 */
export function encodeFrames(lines: string, rows: number, maxChars: number): Buffer[] {
  if (lines.length <= maxChars) return [encodeFrame(lines, rows)];
  const out: Buffer[] = [];
  let start = 0;
  let left = rows;
  while (start < lines.length) {
    let end = lines.lastIndexOf('\n', start + maxChars - 1) + 1;
    if (end <= start) end = lines.indexOf('\n', start) + 1 || lines.length; // one long line
    const chunk = lines.slice(start, end);
    let n = 0;
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n++;
    const last = end >= lines.length;
    out.push(encodeFrame(chunk, last ? left : Math.min(n, left)));
    left -= last ? left : Math.min(n, left);
    start = end;
  }
  return out;
}

export interface DecodedSegment {
  /** Intact batches, in file order (COPY lines, each ending in \n). */
  batches: string[];
  /** Damaged frames skipped. */
  lostBatches: number;
  /** Rows in those frames (from their header; counted lines when the header itself is damaged). */
  lostRows: number;
}

export function decodeFrames(buf: Buffer): DecodedSegment {
  const out: DecodedSegment = { batches: [], lostBatches: 0, lostRows: 0 };
  let pos = 0;
  while (pos < buf.length) {
    const frame = readFrame(buf, pos);
    if (frame) {
      out.batches.push(frame.text);
      pos = frame.end;
      continue;
    }
    // Damage: skip to the next frame header.
    const next = buf.indexOf(RESYNC, pos + 1);
    const end = next === -1 ? buf.length : next + 1;
    const header = headerAt(buf, pos);
    out.lostBatches++;
    out.lostRows += header ? header.rows : countLines(buf, pos, end);
    pos = end;
  }
  return out;
}

function headerAt(buf: Buffer, pos: number): { rows: number; bytes: number; crc: number; bodyStart: number } | undefined {
  if (buf.compare(MARK_BUF, 0, MARK_BUF.length, pos, pos + MARK_BUF.length) !== 0) return undefined;
  const nl = buf.indexOf(0x0a, pos);
  if (nl === -1 || nl - pos > 64) return undefined;
  const m = HEADER_RE.exec(buf.toString('latin1', pos, nl));
  if (!m) return undefined;
  return { rows: Number(m[1]), bytes: Number(m[2]), crc: parseInt(m[3], 16), bodyStart: nl + 1 };
}

function readFrame(buf: Buffer, pos: number): { text: string; end: number } | undefined {
  const h = headerAt(buf, pos);
  if (!h) return undefined;
  const end = h.bodyStart + h.bytes;
  if (end > buf.length) return undefined; // cut short
  const body = buf.subarray(h.bodyStart, end);
  if (crc32(body) !== h.crc) return undefined;
  return { text: body.toString('utf8'), end };
}

/** Rows in a damaged region whose header is unreadable: its lines, less a header-like first line. */
function countLines(buf: Buffer, start: number, end: number): number {
  let n = buf[start] === 0x23 ? -1 : 0;
  for (let i = buf.indexOf(0x0a, start); i !== -1 && i < end; i = buf.indexOf(0x0a, i + 1)) n++;
  if (end > start && buf[end - 1] !== 0x0a) n++; // a last line cut short
  return Math.max(n, 0);
}

const UUID_AT_START = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\t/;

/**
 * Whether a line can be a row as encodeRow writes it: a row id, 14 tab-separated fields, a final
 * newline. Anything else (a torn line, a stray `\.` that would end the COPY early) is not sent.
 */
export function isRowLine(line: string): boolean {
  if (!line.endsWith('\n') || !UUID_AT_START.test(line)) return false;
  let tabs = 0;
  for (let i = line.indexOf('\t'); i !== -1; i = line.indexOf('\t', i + 1)) tabs++;
  return tabs === 13;
}

/** Splits COPY text into lines, each keeping its \n (a last line without one is kept as is). */
export function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      if (start < text.length) out.push(text.slice(start));
      return out;
    }
    out.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
}
