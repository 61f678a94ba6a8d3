/**
 * What a failed write is about, by the SQLSTATE class PostgreSQL gives it (not by a short list of
 * codes), so that one bad row can never stop the writer:
 *  - `row`: the content or size of some row — class 22 (data exception: bad value, NUL byte, bad
 *    COPY line), 23 (integrity: CHECK, NOT NULL, FK) and 54 (program limit: index row too large,
 *    too deeply nested). The batch is halved until the row is isolated; it is dead-lettered.
 *  - `retry`: two writers met (23505 unique violation — the row is already there, 40001/40P01
 *    serialization failure, deadlock): the same rows again through the idempotent merge path.
 *  - `down`: everything else — connection and server trouble (08 connection exception, 57P
 *    operator intervention/shutdown, 53 insufficient resources, 58 system error, XX internal, node
 *    socket errors, our write timeout), and also class 42 (syntax/undefined object/insufficient
 *    privilege) and 28 (authorization): those are about the statement or the deployment, not a row
 *    — every row would fail the same way, so rows stay safe in the spool until it is fixed.
 */
export type WriteErrorKind = 'down' | 'retry' | 'row';

export const WRITE_TIMEOUT_CODE = 'INTMON_WRITE_TIMEOUT';

const SQLSTATE_RE = /^[0-9A-Z]{5}$/;

export function sqlstate(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE_RE.test(code) ? code : undefined;
}

export function classifyWriteError(err: unknown): WriteErrorKind {
  const code = sqlstate(err);
  if (code === undefined) return 'down'; // no SQLSTATE: socket error, timeout, pool error
  if (code === '23505' || code === '40001' || code === '40P01') return 'retry';
  const cls = code.slice(0, 2);
  if (cls === '22' || cls === '23' || cls === '54') return 'row';
  return 'down';
}
