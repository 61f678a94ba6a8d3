/**
 * A stand-in for PostgREST serving `integration_logs` to the seed's writers (supabase-js as
 * service_role), issuing the SQL PostgREST itself issues, so tests see what the user's code sees:
 *
 * - Each request is one transaction that first runs PostgREST's `txVarQuery`
 *   (src/PostgREST/Query/PreQuery.hs): `select set_config('search_path', …, true),
 *   set_config('role', <token role>, true), set_config('request.jwt.claims', <claims + role>, true),
 *   set_config('request.method', …, true), set_config('request.path', …, true)`.
 * - Then the statement of `mutatePlanToQuery` / `fromJsonBodyF` (src/PostgREST/Query/QueryBuilder.hs,
 *   src/PostgREST/Query/SqlFragment.hs): the JSON body as one parameter of type json (Hasql's json encoder; a cast here, node-pg sends text), turned into rows by
 *   `json_to_record` (an object) or `json_to_recordset` (an array) with the payload's keys as
 *   columns typed as the table's; INSERT … SELECT from it (an upsert adds `ON CONFLICT(<on_conflict>)
 *   DO UPDATE SET c = EXCLUDED.c` for each column under `Prefer: resolution=merge-duplicates`),
 *   UPDATE … SET c = pgrst_body.c FROM it WHERE <filters>, RETURNING the table's row, all inside
 *   `WITH pgrst_source AS (…) SELECT … FROM (SELECT * FROM pgrst_source) _postgrest_t`.
 *   Filters (`eq.`) are `<col> = $n` with the value as an untyped parameter.
 * Only what the seed's writers use: insert, update by id, upsert on a column list, select by id.
 */
import type { ClientBase, Pool } from 'pg';

const TABLE = '"public"."integration_logs"';
/** integration_logs' columns and the types PostgREST gives their JSON fields (the table's own). */
const TYPES: Record<string, string> = {
  id: 'uuid',
  service_name: 'text',
  action: 'text',
  status: 'text',
  related_entity_type: 'text',
  related_entity_id: 'uuid',
  request_payload: 'jsonb',
  response_payload: 'jsonb',
  error_message: 'text',
  error_code: 'text',
  duration_ms: 'integer',
  retry_count: 'integer',
  created_at: 'timestamp with time zone',
  updated_at: 'timestamp with time zone',
};

export type Body = Record<string, unknown>;
const q = (c: string) => `"${c}"`;

/** One request: BEGIN, txVarQuery as `role`, `sql`, COMMIT (ROLLBACK and rethrow on error). */
async function request<T>(c: ClientBase, role: string, method: string, sql: string, params: unknown[]): Promise<T[]> {
  await c.query('BEGIN');
  try {
    await c.query(
      `select set_config('search_path', '"public"', true), set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
              set_config('request.method', $3, true), set_config('request.path', '/integration_logs', true)`,
      [role, JSON.stringify({ role }), method],
    );
    const { rows } = await c.query(sql, params);
    await c.query('COMMIT');
    return rows as T[];
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** fromJsonBodyF: the body's rows with `cols` typed as the table's. */
function jsonBody(cols: string[], isObject: boolean, withSelect: boolean): string {
  const fn = isObject ? 'json_to_record' : 'json_to_recordset';
  return (
    (withSelect ? `SELECT ${cols.map((c) => `"pgrst_body".${q(c)}`).join(', ')} ` : '') +
    `FROM (SELECT $1::json AS json_data) pgrst_payload, LATERAL (SELECT ${cols.map(q).join(', ')} FROM ${fn}(pgrst_payload.json_data) ` +
    `AS _(${cols.map((c) => `${q(c)} ${TYPES[c]}`).join(', ')}) ) pgrst_body `
  );
}

/** The read of the mutation's rows PostgREST wraps every statement in (return=representation). */
const wrap = (mutation: string) =>
  `WITH pgrst_source AS (${mutation}) SELECT '' AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, ` +
  `coalesce(json_agg(_postgrest_t), '[]') AS body FROM (SELECT * FROM pgrst_source) _postgrest_t`;

export interface PostgrestStandIn {
  /** POST /integration_logs (supabase-js insert): the rows back. */
  insert(body: Body | Body[]): Promise<Body[]>;
  /** POST /integration_logs?on_conflict=<cols> with Prefer: resolution=merge-duplicates (supabase-js upsert). */
  upsert(body: Body | Body[], onConflict: string[]): Promise<Body[]>;
  /** PATCH /integration_logs?id=eq.<id> (supabase-js update(…).eq('id', id)). */
  updateById(id: string, patch: Body): Promise<Body[]>;
  /** GET /integration_logs?id=eq.<id>. */
  selectById(id: string): Promise<Body[]>;
}

/** The stand-in over connections from `pool` (PostgREST's authenticator), as `role` (the token's). */
export function postgrest(pool: Pool, role = 'service_role'): PostgrestStandIn {
  const run = async (method: string, sql: string, params: unknown[]): Promise<Body[]> => {
    const c = await pool.connect();
    try {
      const rows = await request<{ body: Body[] }>(c, role, method, sql, params);
      return rows[0].body;
    } finally {
      c.release();
    }
  };
  const keysOf = (body: Body | Body[]) => [...new Set((Array.isArray(body) ? body : [body]).flatMap((b) => Object.keys(b)))];
  const insertSql = (body: Body | Body[], conflict?: string[]) => {
    const cols = keysOf(body);
    const onConflict = conflict ? ` ON CONFLICT(${conflict.map(q).join(', ')}) DO UPDATE SET ${cols.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}` : '';
    return wrap(`INSERT INTO ${TABLE}(${cols.map(q).join(', ')}) ${jsonBody(cols, !Array.isArray(body), true)}${onConflict} RETURNING ${TABLE}.*`);
  };
  return {
    insert: (body) => run('POST', insertSql(body), [JSON.stringify(body)]),
    upsert: (body, onConflict) => run('POST', insertSql(body, onConflict), [JSON.stringify(body)]),
    updateById: (id, patch) => {
      const cols = Object.keys(patch);
      return run('PATCH', wrap(`UPDATE ${TABLE} SET ${cols.map((c) => `${q(c)} = "pgrst_body".${q(c)}`).join(', ')} ${jsonBody(cols, true, false)} WHERE ${TABLE}."id" = $2 RETURNING ${TABLE}.*`), [
        JSON.stringify(patch),
        id,
      ]);
    },
    selectById: (id) => run('GET', wrap(`SELECT ${TABLE}.* FROM ${TABLE} WHERE ${TABLE}."id" = $1`), [id]),
  };
}
