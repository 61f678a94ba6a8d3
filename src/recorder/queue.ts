/**
 * The in-memory queue between the caller's path and the shipper: a FIFO of batches, each chunk
 * holding up to maxBatchRows rows, so taking a batch costs O(1).
 */
import { encodeRow, rowBytes } from './copy-format';
import { uuidv7 } from './ids';
import type { LogRow } from './types';

export interface Queued {
  row: LogRow;
  /** Goes through the idempotent merge path (not the first and only version of the row). */
  merge: boolean;
}

/**
 * The row as a COPY line (encoded off the caller's path, when written or spooled). A row queued
 * without an id (recorder.ts push: its only version) gets it here, once: a batch written again
 * after a failure keeps its ids.
 */
export function lineOf(q: Queued): string {
  if (q.row.id === '') q.row.id = uuidv7(q.row.created_at);
  return encodeRow(q.row);
}

export class RowQueue {
  private chunks: Queued[][] = [];
  private chunkBytes: number[] = [];
  rows = 0;
  bytes = 0;

  constructor(private readonly maxBatchRows: number) {}

  push(q: Queued): void {
    let last = this.chunks.length - 1;
    if (last < 0 || this.chunks[last].length >= this.maxBatchRows) {
      this.chunks.push([]);
      this.chunkBytes.push(0);
      last++;
    }
    const bytes = rowBytes(q.row);
    this.chunks[last].push(q);
    this.chunkBytes[last] += bytes;
    this.rows++;
    this.bytes += bytes;
  }

  /** The oldest batch (up to maxBatchRows rows). */
  take(): Queued[] {
    const batch = this.chunks.shift() ?? [];
    this.bytes -= this.chunkBytes.shift() ?? 0;
    this.rows -= batch.length;
    return batch;
  }

  /** Puts a taken batch back in front (it could not be written, and there is no spool for it). */
  putBack(batch: Queued[]): void {
    if (batch.length === 0) return;
    let bytes = 0;
    for (const q of batch) bytes += rowBytes(q.row);
    this.chunks.unshift(batch);
    this.chunkBytes.unshift(bytes);
    this.rows += batch.length;
    this.bytes += bytes;
  }

  /** Removes the newest row (memory is full and it has nowhere else to go). */
  popNewest(): Queued | undefined {
    const last = this.chunks.length - 1;
    if (last < 0) return undefined;
    const q = this.chunks[last].pop()!;
    const bytes = rowBytes(q.row);
    this.chunkBytes[last] -= bytes;
    this.bytes -= bytes;
    this.rows--;
    if (this.chunks[last].length === 0) {
      this.chunks.pop();
      this.chunkBytes.pop();
    }
    return q;
  }

  /** Every batch, emptying the queue. */
  takeAll(): Queued[][] {
    const all = this.chunks;
    this.chunks = [];
    this.chunkBytes = [];
    this.rows = 0;
    this.bytes = 0;
    return all;
  }
}
