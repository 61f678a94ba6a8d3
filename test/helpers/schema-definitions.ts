import { Pool } from 'pg';

/**
 * Everything the repeatable migrations define, as PostgreSQL itself prints it, for comparing two
 * databases: every function (pg_get_functiondef, with its ACL), view (pg_get_viewdef, options, ACL),
 * policy (pg_policies), trigger (pg_get_triggerdef) and table ACL in the migrated schema. ACL
 * entries are sorted: their order is the order of the grants, which carries no meaning.
 */
export interface SchemaDefinitions {
  functions: Record<string, { def: string; acl: string[] }>;
  views: Record<string, { def: string; options: string[]; acl: string[] }>;
  policies: Record<string, { command: string; roles: string[]; permissive: string; qual: string | null; withCheck: string | null }>;
  triggers: Record<string, string>;
  tableAcls: Record<string, string[]>;
}

export async function readSchemaDefinitions(pool: Pool): Promise<SchemaDefinitions> {
  const fns = await pool.query<{ sig: string; def: string; acl: string[] | null }>(`
    SELECT p.oid::regprocedure::text AS sig, pg_get_functiondef(p.oid) AS def, p.proacl::text[] AS acl
    FROM pg_proc p
    WHERE p.pronamespace = current_schema()::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`);
  const views = await pool.query<{ name: string; def: string; options: string[] | null; acl: string[] | null }>(`
    SELECT c.relname AS name, pg_get_viewdef(c.oid) AS def, c.reloptions AS options, c.relacl::text[] AS acl
    FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('v', 'm')`);
  const policies = await pool.query<{ name: string; command: string; roles: string[]; permissive: string; qual: string | null; with_check: string | null }>(`
    SELECT tablename || '.' || policyname AS name, cmd AS command, roles::text[] AS roles, permissive, qual, with_check
    FROM pg_policies WHERE schemaname = current_schema()`);
  const triggers = await pool.query<{ name: string; def: string }>(`
    SELECT c.relname || '.' || t.tgname AS name, pg_get_triggerdef(t.oid) AS def
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal`);
  const tables = await pool.query<{ name: string; acl: string[] | null }>(`
    SELECT c.relname AS name, c.relacl::text[] AS acl
    FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')`);
  const sorted = (a: string[] | null) => [...(a ?? [])].sort();
  return {
    functions: Object.fromEntries(fns.rows.map((r) => [r.sig, { def: r.def, acl: sorted(r.acl) }])),
    views: Object.fromEntries(views.rows.map((r) => [r.name, { def: r.def, options: sorted(r.options), acl: sorted(r.acl) }])),
    policies: Object.fromEntries(policies.rows.map((r) => [r.name, { command: r.command, roles: sorted(r.roles), permissive: r.permissive, qual: r.qual, withCheck: r.with_check }])),
    triggers: Object.fromEntries(triggers.rows.map((r) => [r.name, r.def])),
    tableAcls: Object.fromEntries(tables.rows.map((r) => [r.name, sorted(r.acl)])),
  };
}
