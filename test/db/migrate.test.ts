import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, readMigrations, readRepeatables } from '../../src/db/migrate';
import { createTestDatabase } from '../helpers/db';

describe('migrations', () => {
  test('applying twice is a no-op the second time', async () => {
    const db = await createTestDatabase({ migrated: false });
    try {
      const first = await migrate(db.url);
      expect(first.applied).toEqual(readMigrations().map((m) => m.name));
      const second = await migrate(db.url);
      expect(second.applied).toEqual([]);
      expect(second.skipped).toEqual(first.applied);
    } finally {
      await db.drop();
    }
  });

  test('two concurrent migrates apply each file exactly once', async () => {
    const db = await createTestDatabase({ migrated: false });
    try {
      const [a, b] = await Promise.all([migrate(db.url), migrate(db.url)]);
      const all = readMigrations().map((m) => m.name);
      expect([...a.applied, ...b.applied].sort()).toEqual(all);
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM integration_monitor_migrations`);
      expect(rows[0].n).toBe(all.length + readRepeatables().length);
    } finally {
      await db.drop();
    }
  });

  test('a failing migration rolls back completely', async () => {
    const db = await createTestDatabase({ migrated: false });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-mig-'));
    try {
      for (const m of readMigrations()) fs.writeFileSync(path.join(dir, m.name), m.sql);
      fs.writeFileSync(
        path.join(dir, '999_broken.sql'),
        `CREATE TABLE half_done (x int); INSERT INTO integration_logs (service_name, action, status) VALUES ('half', 'done', 'success');
         SELECT 1 / 0;`,
      );
      await expect(migrate(db.url, { dir })).rejects.toThrow(/999_broken\.sql failed and was rolled back/);
      const t = await db.pool.query(`SELECT to_regclass('half_done') AS r`);
      expect(t.rows[0].r).toBeNull();
      const rows = await db.pool.query(`SELECT count(*)::int AS n FROM integration_logs`);
      expect(rows.rows[0].n).toBe(0);
      const rec = await db.pool.query(`SELECT name FROM integration_monitor_migrations ORDER BY name`);
      expect(rec.rows.map((r) => r.name)).toEqual(readMigrations().map((m) => m.name));
      const roll = await db.pool.query(`SELECT count(*)::int AS n FROM integration_rollup_minute`);
      expect(roll.rows[0].n).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });

  test('a migration that fails halfway leaves none of its objects (first migration on an empty database)', async () => {
    const db = await createTestDatabase({ migrated: false });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-mig-'));
    try {
      const [first] = readMigrations();
      fs.writeFileSync(path.join(dir, first.name), `${first.sql}\nSELECT 1 / 0;`);
      await expect(migrate(db.url, { dir })).rejects.toThrow(/rolled back/);
      const t = await db.pool.query(`SELECT to_regclass('integration_logs') AS r, to_regclass('integration_stats_daily') AS v`);
      expect(t.rows[0]).toEqual({ r: null, v: null });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
