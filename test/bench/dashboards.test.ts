/**
 * The dashboard bench (bench/dashboards.ts) measures what Grafana runs: it finds every PostgreSQL
 * query of every provisioned dashboard, expands it with the Grafana macro helper, runs it as the
 * reader; and the hand-made dashboard on the seed schema it compares against answers the same
 * numbers as ours on the same generated rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PoolClient } from 'pg';
import { COLUMNS, generateSql, STAGING_TABLE } from '../../bench/data';
import { asReader, expandDashboard, provisionedDashboards, RANGES, seedDashboard, type DashboardSpec } from '../../bench/dashboards';
import { SEED_SCHEMA_SQL } from '../../bench/seed-schema';
import { createTestDatabase, TestDatabase } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');
const DAYS = 100;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(SEED_SCHEMA_SQL);
  await db.pool.query('GRANT USAGE ON SCHEMA seed TO integration_monitor_reader; GRANT SELECT ON ALL TABLES IN SCHEMA seed TO integration_monitor_reader');
  await db.pool.query(`SELECT count(*) FROM ensure_integration_log_partitions(7, ${DAYS + 2})`);
  const c = await db.pool.connect();
  try {
    for (const sql of generateSql(8000, DAYS, 0.23)) await c.query(sql);
  } finally {
    c.release();
  }
  await db.pool.query(`INSERT INTO seed.integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
  await db.pool.query(`INSERT INTO integration_logs (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGING_TABLE}`);
});
afterAll(async () => {
  await db.drop();
});

/** The parts of a dashboard's JSON model this count reads. */
interface DashboardJson {
  uid: string;
  panels: Array<{ targets?: Array<{ rawSql?: unknown }> }>;
  templating?: { list: Array<{ type: string }> };
  annotations?: { list: Array<{ target?: { rawSql?: unknown } }> };
}

test('every PostgreSQL panel, variable and annotation of every provisioned dashboard is benched', () => {
  const dashboards = provisionedDashboards(ROOT);
  const files = fs.readdirSync(path.join(ROOT, 'provisioning/dashboards')).filter((f) => f.endsWith('.json'));
  expect(dashboards).toHaveLength(files.length);
  for (const f of files) {
    const d = JSON.parse(fs.readFileSync(path.join(ROOT, 'provisioning/dashboards', f), 'utf8')) as DashboardJson;
    const spec = dashboards.find((x) => x.uid === d.uid) as DashboardSpec;
    const sqlTargets = d.panels.flatMap((p) => (p.targets ?? []).filter((t) => typeof t.rawSql === 'string'));
    const sqlVars = (d.templating?.list ?? []).filter((v) => v.type === 'query');
    const sqlAnnotations = (d.annotations?.list ?? []).filter((a) => typeof a.target?.rawSql === 'string');
    expect(spec.queries.filter((q) => q.kind === 'panel')).toHaveLength(sqlTargets.length);
    expect(spec.queries.filter((q) => q.kind === 'variable')).toHaveLength(sqlVars.length);
    expect(spec.queries.filter((q) => q.kind === 'annotation')).toHaveLength(sqlAnnotations.length);
  }
  expect(dashboards.flatMap((d) => d.queries).length).toBeGreaterThan(10);
});

test.each(RANGES)('over %s every query expands (no macro left) and runs as the reader; variables expand to their answers', async (_n, ms) => {
  const to = new Date();
  const range = { from: new Date(to.getTime() - ms), to };
  const c: PoolClient = await db.pool.connect();
  try {
    for (const d of [...provisionedDashboards(ROOT), seedDashboard(ROOT)]) {
      await asReader(c, async () => {
        const expanded = await expandDashboard(c, d, range, { entity_type: 'lead', entity_id: '00000000-0000-0000-0000-000000000000' });
        expect(expanded).toHaveLength(d.queries.length);
        for (const { sql } of expanded) {
          expect(sql).not.toMatch(/\$__|\$service|\$action|\$entity/);
          await c.query(sql);
        }
        if (d.uid === 'intmon-service-detail') {
          const calls = expanded.find((e) => e.q.title === 'Calls by action')!.sql;
          expect(calls).toContain("'amocrm','mobizon','resend','telegram','whapi'"); // All = the $service query's answer
        }
      });
    }
  } finally {
    c.release();
  }
});

/** Runs one query of a dashboard (by title) over a range as the reader. */
async function runPanel(d: DashboardSpec, title: string, range: { from: Date; to: Date }) {
  const c = await db.pool.connect();
  try {
    return await asReader(c, async () => {
      const e = (await expandDashboard(c, d, range, {})).find((x) => x.q.title === title)!;
      return (await c.query(e.sql)).rows;
    });
  } finally {
    c.release();
  }
}

test.each([['7d'], ['90d']])('like for like over %s: calls and failures per service agree between the hand-made and the provisioned dashboards', async (rname) => {
  const ms = RANGES.find(([n]) => n === rname)![1];
  const to = new Date();
  const range = { from: new Date(to.getTime() - ms), to };
  const overview = provisionedDashboards(ROOT).find((d) => d.uid === 'intmon-overview')!;
  const seed = seedDashboard(ROOT);
  const total = (rows: Record<string, unknown>[]) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(String(r.metric), (m.get(String(r.metric)) ?? 0) + Number(r.value));
    return m;
  };
  const oursVolume = total(await runPanel(overview, 'Call volume by service', range));
  const seedVolume = total(await runPanel(seed, 'Call volume by service', range));
  expect(oursVolume.size).toBe(5);
  expect(oursVolume).toEqual(seedVolume);
  const health = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [r.Service, [Number(r.Calls), Number(r.Failed), Number(r.Succeeded)]]));
  expect(health(await runPanel(overview, 'Service health (PostgreSQL)', range))).toEqual(health(await runPanel(seed, 'Health', range)));
});
