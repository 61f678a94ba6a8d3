import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { migrate, readMigrations, readRepeatables, resolveMigrationsDir } from '../../src/db/migrate';
import { createTestDatabase } from '../helpers/db';
import { migrationsCopy } from '../helpers/migrations-copy';
import { readSchemaDefinitions } from '../helpers/schema-definitions';

/**
 * 001–007 have been released: databases exist that were migrated by exactly these files, and the
 * migrator refuses to run on one whose recorded checksums differ. These are the files of commit
 * 3ec7b58 (`git show 3ec7b58:migrations/<file> | sha256sum`).
 */
const RELEASED: Record<string, string> = {
  '001_schema.sql': 'ed7cfcb12d23868c65d245e50a167e0aa1539fef147a0b8af6055c48b5ae1ad4',
  '002_indexes.sql': '7df9d36be5519eb6b5f21192af3186edcba24f7bc86d9359aef8409bd72a4614',
  '003_rls.sql': 'd1436f75590fc57b7a74e550d3af5f818cb68dcd3c2de664d904fa293ab825ba',
  '004_rollups.sql': 'c629b6407d52aac3691fd572f742c3d4c08f84caf6716c24403458ab9eca8b26',
  '005_views.sql': 'eb9683a69f7760cf4c10854839756b62a8a7622539ea1e0c0de5b75e006d3236',
  '006_retention.sql': 'ba59d46cc4f75023221a6a46a170a97664ea019c69f084e878a30aefefa4bca7',
  '007_drop_minute_histograms.sql': '7bb407cb7a5516cd29cabb4d6e46536d52fb4b8ea75160614b678a5bb11d71ba',
};

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

test('the released migrations 001–007 are byte-identical to the released files', () => {
  const dir = resolveMigrationsDir();
  for (const [name, sum] of Object.entries(RELEASED)) expect([name, sha256(fs.readFileSync(path.join(dir, name), 'utf8'))]).toEqual([name, sum]);
});

test('a fresh database and one upgraded from the released 001–007 end with identical definitions', async () => {
  const fresh = await createTestDatabase({ migrated: false });
  const upgraded = await createTestDatabase({ migrated: false });
  const released = migrationsCopy(Object.keys(RELEASED), false);
  try {
    const lines: string[] = [];
    const all = await migrate(fresh.url, { log: (l) => lines.push(l) });
    // The operator reads this output: the repeatable files add no NOTICE of their own
    // (say, "policy … does not exist, skipping" from a DROP POLICY IF EXISTS).
    expect(lines.filter((l) => !/^applied /.test(l))).toEqual([]);
    expect(all.applied).toEqual(readMigrations().map((m) => m.name));
    expect(all.reapplied).toEqual(readRepeatables().map((m) => m.name));

    const before = await migrate(upgraded.url, { dir: released });
    expect(before.applied).toEqual(Object.keys(RELEASED));
    expect(before.reapplied).toEqual([]);
    const upLines: string[] = [];
    const up = await migrate(upgraded.url, { log: (l) => upLines.push(l) });
    expect(upLines.filter((l) => !/^applied /.test(l))).toEqual([]);
    expect(up.skipped).toEqual(Object.keys(RELEASED));
    expect(up.applied).toEqual(
      readMigrations()
        .map((m) => m.name)
        .filter((n) => !(n in RELEASED)),
    );
    expect(up.reapplied).toEqual(readRepeatables().map((m) => m.name));

    const a = await readSchemaDefinitions(fresh.pool);
    const b = await readSchemaDefinitions(upgraded.pool);
    // Not vacuous: the schema's objects are all there to compare.
    expect(Object.keys(a.functions).length).toBeGreaterThanOrEqual(35);
    expect(Object.keys(a.views).sort()).toEqual(['integration_stats_daily', 'integration_stats_hourly']);
    expect(Object.keys(a.policies).length).toBe(45); // 011 and 013 added the zone-day and zone-hour tables' three each, the day zone list three, 019's slowest calls three
    expect(Object.keys(a.triggers).length).toBe(10); // 019's three for the slowest calls; 020 dropped the per-service INSERT two
    expect(a.functions['integration_rollup_on_change()'].def).toMatch(/SET "TimeZone" TO 'UTC'|SET TimeZone TO 'UTC'/i);
    expect(b).toEqual(a);
  } finally {
    fs.rmSync(released, { recursive: true, force: true });
    await Promise.all([fresh.drop(), upgraded.drop()]);
  }
});

test('every function and view of the schema is created in exactly one file, a repeatable one', async () => {
  const dir = resolveMigrationsDir();
  const created = new Map<string, string[]>();
  const unreleased = readMigrations().filter((m) => !(m.name in RELEASED));
  for (const m of [...unreleased, ...readRepeatables()]) {
    for (const hit of m.sql.matchAll(/^CREATE (?:OR REPLACE )?(?:FUNCTION|VIEW) (\w+)/gim)) {
      created.set(hit[1], [...(created.get(hit[1]) ?? []), m.name]);
    }
  }
  // Unreleased numbered files hold only what runs once: no definition, no grant on one.
  for (const m of unreleased) {
    expect([m.name, m.sql.match(/^\s*(CREATE|ALTER|DROP) (OR REPLACE )?(FUNCTION|VIEW|POLICY)|ON FUNCTION/gim)]).toEqual([m.name, null]);
  }
  for (const [name, files] of created) {
    expect([name, files.length, files[0].startsWith('repeatable/')]).toEqual([name, 1, true]);
  }
  const db = await createTestDatabase();
  try {
    const defs = await readSchemaDefinitions(db.pool);
    const inDb = [...Object.keys(defs.functions).map((sig) => sig.replace(/\(.*$/, '')), ...Object.keys(defs.views)];
    expect(inDb.filter((n) => !created.has(n))).toEqual([]);
  } finally {
    await db.drop();
  }
  expect(fs.existsSync(path.join(dir, 'repeatable'))).toBe(true);
});

describe('repeatable files', () => {
  test('re-running migrate is a no-op; a changed repeatable file is re-applied alone', async () => {
    const db = await createTestDatabase({ migrated: false });
    const dir = migrationsCopy(
      readMigrations().map((m) => m.name),
      true,
    );
    try {
      await migrate(db.url, { dir });
      const again = await migrate(db.url, { dir });
      expect(again).toEqual({ applied: [], skipped: readMigrations().map((m) => m.name), reapplied: [] });

      const file = path.join(dir, 'repeatable', '05_range_reads.sql');
      fs.appendFileSync(file, "\nCOMMENT ON FUNCTION integration_known_services() IS 'changed by the test';\n");
      const before = await db.pool.query(`SELECT applied_at FROM integration_monitor_migrations WHERE name = 'repeatable/09_retention.sql'`);
      const changed = await migrate(db.url, { dir });
      // and the privileges file, which runs again after any other (a re-created function loses its privileges)
      expect(changed).toEqual({ applied: [], skipped: readMigrations().map((m) => m.name), reapplied: ['repeatable/05_range_reads.sql', 'repeatable/20_function_privileges.sql'] });
      const c = await db.pool.query(`SELECT obj_description('integration_known_services()'::regprocedure) AS d`);
      expect(c.rows[0].d).toBe('changed by the test');
      const after = await db.pool.query(`SELECT applied_at FROM integration_monitor_migrations WHERE name = 'repeatable/09_retention.sql'`);
      expect(after.rows[0].applied_at).toEqual(before.rows[0].applied_at);
      expect((await migrate(db.url, { dir })).reapplied).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  test('a failing repeatable file rolls back and keeps the definition and checksum it replaced', async () => {
    const db = await createTestDatabase({ migrated: false });
    const dir = migrationsCopy(
      readMigrations().map((m) => m.name),
      true,
    );
    try {
      await migrate(db.url, { dir });
      const file = path.join(dir, 'repeatable', '09_retention.sql');
      const original = fs.readFileSync(file, 'utf8');
      const defBefore = await db.pool.query(`SELECT pg_get_functiondef('cleanup_integration_rollups(interval, interval)'::regprocedure) AS d`);
      fs.writeFileSync(file, original.replace(/RETURN total;/g, 'RETURN total + 1;') + '\nSELECT 1 / 0;\n');
      await expect(migrate(db.url, { dir })).rejects.toThrow(/repeatable repeatable\/09_retention\.sql failed and was rolled back/);
      const defAfter = await db.pool.query(`SELECT pg_get_functiondef('cleanup_integration_rollups(interval, interval)'::regprocedure) AS d`);
      expect(defAfter.rows[0].d).toBe(defBefore.rows[0].d);
      const rec = await db.pool.query(`SELECT checksum FROM integration_monitor_migrations WHERE name = 'repeatable/09_retention.sql'`);
      expect(rec.rows[0].checksum).toBe(sha256(original));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  test('a run that applies a numbered migration re-applies every repeatable file (it may have dropped what they define)', async () => {
    const db = await createTestDatabase({ migrated: false });
    const dir = migrationsCopy(
      readMigrations().map((m) => m.name),
      true,
    );
    try {
      await migrate(db.url, { dir });
      fs.writeFileSync(path.join(dir, '999_drops_a_view.sql'), 'DROP VIEW integration_stats_daily;');
      const r = await migrate(db.url, { dir });
      expect(r.applied).toEqual(['999_drops_a_view.sql']);
      expect(r.reapplied).toEqual(readRepeatables().map((m) => m.name));
      const v = await db.pool.query(`SELECT to_regclass('integration_stats_daily') IS NOT NULL AS present`);
      expect(v.rows[0].present).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
