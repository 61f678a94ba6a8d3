/** Shared bits of the recorder tests: reading rows back and scanning them for strings. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { LogRow } from '../../src/recorder/types';

export interface StoredRow {
  id: string;
  service_name: string;
  action: string;
  status: string;
  related_entity_type: string | null;
  related_entity_id: string | null;
  request_payload: unknown;
  response_payload: unknown;
  error_message: string | null;
  error_code: string | null;
  duration_ms: number | null;
  retry_count: number;
  created_at: Date;
  updated_at: Date;
}

export async function allRows(pool: Pool): Promise<StoredRow[]> {
  const { rows } = await pool.query<StoredRow>('SELECT * FROM integration_logs ORDER BY created_at, id');
  return rows;
}

/** Every column of every row as one text per row (the whole row as JSON), to search for secrets. */
export async function rowTexts(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>('SELECT row_to_json(l)::text AS t FROM integration_logs l');
  return rows.map((r) => r.t);
}

/** A successful row of `service`, as the recorder queues it. */
export function logRow(service = 'resend'): LogRow {
  const now = Date.now();
  return {
    id: randomUUID(),
    service_name: service,
    action: 'send_email',
    status: 'success',
    related_entity_type: null,
    related_entity_id: null,
    request_payload: null,
    response_payload: null,
    error_message: null,
    error_code: null,
    duration_ms: 12,
    retry_count: 0,
    created_at: now,
    updated_at: now,
  };
}

const made: string[] = [];
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir() made in this test file. */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, stepMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
