/**
 * Whether the database answers, as the API last saw it: fed by every request's outcome and by
 * `/readyz`. The moment it stops answering is logged once (not once per failing request), and
 * while it is away a probe runs every second so that its return is logged as soon as it happens,
 * even with no traffic.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Pool } from 'pg';
import { withClient } from '../store/db-session';
import { isDatabaseUnavailable } from './errors';
import { pingDatabase } from '../store/queries';

const PROBE_EVERY_MS = 1000;

export class DatabaseState {
  private up: boolean | undefined;
  private downSince = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly timeoutMs: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  get available(): boolean | undefined {
    return this.up;
  }

  ok(): void {
    if (this.up === false) this.log.info({ event: 'database_recovered', down_ms: Date.now() - this.downSince }, 'database answers again');
    this.up = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Records an outcome; only failures that mean "the database is away" change the state. */
  failed(err: unknown): void {
    if (!isDatabaseUnavailable(err)) return;
    if (this.up !== false) {
      this.downSince = Date.now();
      this.log.error({ event: 'database_lost', err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'database unavailable: answering 503 until it is back');
    }
    this.up = false;
    if (!this.probeTimer && !this.closed) {
      this.probeTimer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
      this.probeTimer.unref();
    }
  }

  /** One `SELECT 1` within the timeout; true when it answered. */
  async probe(): Promise<boolean> {
    try {
      await withClient(this.pool, this.timeoutMs, pingDatabase);
      this.ok();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }
}
