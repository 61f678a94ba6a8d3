import crypto from 'node:crypto';

/**
 * UUIDv7 row ids: time-ordered, so the (id, created_at) primary key is appended to at its right
 * edge instead of being written at random leaf pages — that is what keeps COPY fast on a big table.
 * Random bytes are drawn in blocks to keep the per-id cost to a few hundred nanoseconds.
 */
const BLOCK = 4096;
const pool = Buffer.allocUnsafe(BLOCK * 10);
let offset = pool.length;
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

let lastMs = 0;
let seq = 0;

export function uuidv7(nowMs = Date.now()): string {
  if (offset + 10 > pool.length) {
    crypto.randomFillSync(pool);
    offset = 0;
  }
  // A 12-bit counter in rand_a keeps ids from one millisecond in creation order (RFC 9562 §6.2).
  if (nowMs <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    seq = pool[offset] & 0x3f; // random start leaves room for the counter
  }
  const b = pool;
  const o = offset;
  offset += 10;
  const hi = Math.floor(nowMs / 0x10000); // upper 32 bits of the 48-bit timestamp
  const lo = nowMs & 0xffff;
  return (
    HEX[(hi >>> 24) & 0xff] +
    HEX[(hi >>> 16) & 0xff] +
    HEX[(hi >>> 8) & 0xff] +
    HEX[hi & 0xff] +
    '-' +
    HEX[lo >>> 8] +
    HEX[lo & 0xff] +
    '-' +
    HEX[0x70 | (seq >>> 8)] +
    HEX[seq & 0xff] +
    '-' +
    HEX[0x80 | (b[o + 2] & 0x3f)] +
    HEX[b[o + 3]] +
    '-' +
    HEX[b[o + 4]] +
    HEX[b[o + 5]] +
    HEX[b[o + 6]] +
    HEX[b[o + 7]] +
    HEX[b[o + 8]] +
    HEX[b[o + 9]]
  );
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}
