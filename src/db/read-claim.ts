/**
 * MONITOR_READ_CLAIM on the database's side: the row-level policies check the claim stored in
 * integration_monitor_settings (migration 008, repeatable/03_read_claim.sql), the API checks
 * MONITOR_READ_CLAIM; `start` and `migrate` (as the owner) write the one into the other, so a
 * PostgREST caller without the claim reads nothing either. `serve` (not the owner) only compares
 * and says what to run. A configured claim is written; an unset one never clears the database's
 * (that would open every row to every signed-in user): it is reported instead.
 */
import type { ClientBase } from 'pg';
import { parseReadClaim } from '../store/read-claim';
import { isConnectionError } from './connection-error';

export interface ReadClaimOutcome {
  /** What happened, in one line for the operator. */
  line: string;
  /** warn: the database and the API check different claims. */
  level: 'info' | 'warn';
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** What the database owner runs so the database checks `claim` (undefined: no claim). */
export const readClaimStatement = (claim: string | undefined) => `UPDATE integration_monitor_settings SET read_claim = ${claim ? quote(claim) : 'NULL'}`;

/** The claim the database checks and where it comes from; both NULL when the settings are not readable. */
async function readStored(db: ClientBase): Promise<{ param: string | null; stored: string | null }> {
  const { rows } = await db.query<{ param: string | null; stored: string | null }>(
    `SELECT nullif(btrim(current_setting('intmon.read_claim', true)), '') AS param,
            (SELECT nullif(btrim(s.read_claim), '') FROM integration_monitor_settings s) AS stored`,
  );
  return rows[0];
}

/**
 * As the database owner: stores `configured` (MONITOR_READ_CLAIM) as the database's read claim when
 * it differs. undefined when neither side has a claim. A role that may not write the settings
 * (42501) gets a warning with the statement to run.
 */
export async function writeReadClaim(db: ClientBase, configured: string | undefined): Promise<ReadClaimOutcome | undefined> {
  const claim = configured?.trim() || undefined;
  if (claim) parseReadClaim(claim); // the API's own check: one message for a malformed value
  try {
    const { param, stored } = await readStored(db);
    if (!claim) {
      const effective = param ?? stored;
      if (!effective) return undefined;
      return {
        level: 'warn',
        line: `reads     the database lets authenticated read only with the claim ${effective}, MONITOR_READ_CLAIM is unset: set it to the same, or drop the database's with ${readClaimStatement(undefined)}`,
      };
    }
    if (stored !== claim) await db.query('UPDATE integration_monitor_settings SET read_claim = $1', [claim]);
    if (param && param !== claim) {
      return {
        level: 'warn',
        line: `reads     intmon.read_claim = ${param} (ALTER DATABASE/ROLE … SET) overrides MONITOR_READ_CLAIM ${claim} in the database: run ALTER DATABASE … RESET intmon.read_claim (and ALTER ROLE … RESET) as a superuser`,
      };
    }
    return { level: 'info', line: `reads     the database checks the claim ${claim} too${stored === claim ? '' : ' (stored now)'}` };
  } catch (err) {
    if (isConnectionError(err) || (err as { code?: string }).code !== '42501') throw err;
    if (!claim) return undefined; // nothing to store, and this role may not see what is stored
    return { level: 'warn', line: `reads     this role may not store the read claim (${(err as Error).message}): as the database owner run ${readClaimStatement(claim)}` };
  }
}

/**
 * As any role that may call integration_read_claim() (service_role): whether the database checks
 * `configured`; a warning with the statement to run when it does not.
 */
export async function checkReadClaim(db: ClientBase, configured: string | undefined): Promise<ReadClaimOutcome | undefined> {
  const claim = configured?.trim() || undefined;
  const { rows } = await db.query<{ claim: string | null }>('SELECT integration_read_claim() AS claim');
  const inDb = rows[0].claim;
  if ((inDb ?? undefined) === claim) return claim ? { level: 'info', line: `reads     the database checks the claim ${claim} too` } : undefined;
  return {
    level: 'warn',
    line: `reads     the database checks ${inDb ? `the claim ${inDb}` : 'no read claim'}, MONITOR_READ_CLAIM is ${claim ?? 'unset'}: run \`integration-monitor migrate\` with the same MONITOR_READ_CLAIM, or as the database owner ${readClaimStatement(claim)}`,
  };
}
