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

/**
 * Where frames are read from: a file, read piece by piece, or a buffer. What `read` returns is used
 * before the next call, so a source may hand out the same scratch buffer each time.
 */
export interface FrameSource {
  size: number;
  read(pos: number, len: number): Promise<Buffer>;
}

/** One intact batch, or a damaged region and the rows it held. */
export type FrameItem = { batch: string } | { lostRows: number };

const HEAD_BYTES = 80;
export const SCAN_BYTES = 1024 * 1024;

/**
 * The frames of a segment, one at a time: memory is one frame (at most `maxFrameBytes`; a longer
 * one counts as damage) or one scan chunk, whatever the segment's size.
 */
export async function* readFrames(src: FrameSource, maxFrameBytes: number): AsyncGenerator<FrameItem> {
  let pos = 0;
  while (pos < src.size) {
    const h = headerAt(await src.read(pos, Math.min(HEAD_BYTES, src.size - pos)), 0);
    if (h && h.bytes <= maxFrameBytes && pos + h.bodyStart + h.bytes <= src.size) {
      const body = await src.read(pos + h.bodyStart, h.bytes);
      if (body.length === h.bytes && crc32(body) === h.crc) {
        yield { batch: body.toString('utf8') };
        pos += h.bodyStart + h.bytes;
        continue;
      }
    }
    // Damage: skip to the next frame header; its rows are the header's count, else its lines.
    const { end, lines } = await resync(src, pos);
    yield { lostRows: h ? h.rows : lines };
    pos = end;
  }
}

/**
 * From a damaged `pos`: where the next `\n#frame ` begins (after its \n), and the lines up to
 * there — less a header-like first line, plus a last line cut short — read in bounded chunks.
 */
async function resync(src: FrameSource, pos: number): Promise<{ end: number; lines: number }> {
  const overlap = RESYNC.length - 1; // a marker may straddle two chunks: they overlap by this much
  let lines = 0;
  let counted = pos; // lines are counted from here on
  for (let from = pos; ;) {
    const chunk = await src.read(from, Math.min(SCAN_BYTES, src.size - from));
    if (from === pos && chunk[0] === 0x23) lines--;
    const i = chunk.indexOf(RESYNC, from === pos ? 1 : 0);
    const stop = i === -1 ? from + chunk.length : from + i + 1;
    for (let j = chunk.indexOf(0x0a, counted - from); j !== -1 && from + j < stop; j = chunk.indexOf(0x0a, j + 1)) lines++;
    if (i !== -1) return { end: stop, lines: Math.max(lines, 0) }; // stop - 1 is that \n: no line cut short
    if (from + chunk.length >= src.size || chunk.length <= overlap) {
      if (chunk.length > 0 && chunk[chunk.length - 1] !== 0x0a) lines++; // a last line cut short
      return { end: src.size, lines: Math.max(lines, 0) };
    }
    counted = from + chunk.length;
    from = counted - overlap;
  }
}

/** A whole segment in memory, decoded (tests, and tools reading a spool file). */
export async function decodeFrames(buf: Buffer): Promise<DecodedSegment> {
  const out: DecodedSegment = { batches: [], lostBatches: 0, lostRows: 0 };
  const src: FrameSource = { size: buf.length, read: async (pos, len) => buf.subarray(pos, pos + len) };
  for await (const item of readFrames(src, Number.MAX_SAFE_INTEGER)) {
    if ('batch' in item) out.batches.push(item.batch);
    else {
      out.lostBatches++;
      out.lostRows += item.lostRows;
    }
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
