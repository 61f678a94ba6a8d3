/**
 * The monitor's SQL functions as the catalog of a migrated database has them: name, arguments
 * (names, types, defaults), result, and which of the API's and Grafana's roles may execute each.
 * `npm run gen:sql-signatures` (scripts/gen-sql-signatures.js) writes this list to
 * src/store/sql-functions.json; test/store/sql-signatures.test.ts fails when the file and a freshly
 * migrated database differ, and test/store/sql-consumers.test.ts holds every caller (dashboards,
 * alert rules, bench, the API's queries) to it.
 *
 * Which functions: those of the schema the migrations ran in whose name has `integration_` in it
 * (the rule repeatable/20_function_privileges.sql grants by), not an extension's. Trigger functions
 * are left out: PostgreSQL refuses to call them except as triggers, so no query can. Internal
 * helpers (partitions, retention, day zones, the trigger paths' helpers) stay in, with the roles
 * that may execute them: the bench and the CLI call some as the owner or service_role, and a
 * dashboard or alert rule calling one is caught by its `executableBy`, not by its absence.
 */
import path from 'node:path';
import type { ClientBase } from 'pg';

/** Roles whose EXECUTE right the list records: the API's token roles and Grafana's data source role. */
export const SIGNATURE_ROLES = ['anon', 'authenticated', 'service_role', 'integration_monitor_reader'] as const;

export interface SqlArgument {
  /** null for an unnamed argument (a call can only pass it by position). */
  name: string | null;
  /** format_type of the argument's type, e.g. `timestamp with time zone`. */
  type: string;
  /** The default's expression as pg_get_function_arg_default prints it; null when the argument is required. */
  default: string | null;
  /** A VARIADIC argument takes any number of values (or one array with VARIADIC). */
  variadic?: true;
}

export interface SqlFunction {
  name: string;
  /** name(type,…): the identity regprocedure prints, as test/helpers/function-allowlist.ts keys functions. */
  signature: string;
  /** Input arguments in order (OUT and TABLE columns are part of `result`). */
  arguments: SqlArgument[];
  /** pg_get_function_result: the type, or `SETOF …` / `TABLE(…)`. */
  result: string;
  /** Which of SIGNATURE_ROLES may execute it (directly or through membership). */
  executableBy: string[];
}

/** Catalog rows of every function described above, ordered by name and then argument types. */
const CATALOG_SQL = `
SELECT p.proname AS name,
       format('%s(%s)', p.proname, (SELECT string_agg(format_type(t, NULL), ',' ORDER BY i) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i))) AS signature,
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', nullif(p.proargnames[i], ''),
                  'type', format_type(t, NULL),
                  'default', pg_get_function_arg_default(p.oid, i::int),
                  'variadic', coalesce(p.proargmodes[i], 'i') = 'v') ORDER BY i)
         FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY u(t, i)
         WHERE coalesce(p.proargmodes[i], 'i') IN ('i', 'b', 'v')), '[]') AS arguments,
       pg_get_function_result(p.oid) AS result,
       ARRAY(SELECT r FROM unnest($1::text[]) r WHERE to_regrole(r) IS NOT NULL AND has_function_privilege(r, p.oid, 'EXECUTE') ORDER BY r) AS executable_by
FROM pg_proc p
WHERE p.pronamespace = current_schema()::regnamespace
  AND p.proname ~ '(^|_)integration_'
  AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

/** The monitor's functions in the database `db` is connected to (its current schema). */
export async function readSqlSignatures(db: ClientBase): Promise<SqlFunction[]> {
  const { rows } = await db.query<{ name: string; signature: string; arguments: Array<SqlArgument & { variadic: boolean }>; result: string; executable_by: string[] }>(CATALOG_SQL, [SIGNATURE_ROLES]);
  return rows.map((r) => ({
    name: r.name,
    signature: r.signature,
    arguments: r.arguments.map(({ variadic, ...a }) => (variadic ? { ...a, variadic: true as const } : a)),
    result: r.result,
    executableBy: r.executable_by,
  }));
}

/** The checked-in list, relative to the repository root. */
export const SQL_SIGNATURES_FILE = path.join('src', 'store', 'sql-functions.json');

/** The command that rewrites SQL_SIGNATURES_FILE from a freshly migrated database. */
export const SQL_SIGNATURES_COMMAND = 'npm run gen:sql-signatures';

/** The file's text: one function per line group, stable order, so a change reads as a small diff. */
export function renderSqlSignatures(functions: SqlFunction[]): string {
  return `${JSON.stringify(functions, null, 2)}\n`;
}
