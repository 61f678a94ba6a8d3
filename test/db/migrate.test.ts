import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate, readMigrations, readRepeatables } from '../../src/db/migrate';
import { createTestDatabase } from '../helpers/db';
import { migrationsCopy } from '../helpers/migrations-copy';

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

  test('a migration marked "-- with: the repeatable files" gets them in its own transaction when it is the last pending one', async () => {
    const db = await createTestDatabase();
    const dir = migrationsCopy(
      readMigrations().map((m) => m.name),
      true,
    );
    try {
      // each file records the transaction it ran in
      const mark = (name: string, first = '') =>
        fs.writeFileSync(path.join(dir, name), `${first}CREATE TABLE IF NOT EXISTS tx_seen (file text, tx bigint); INSERT INTO tx_seen VALUES ('${name}', txid_current());`);
      mark('repeatable/99_mark.sql');
      mark('997_marked.sql', '-- with: the repeatable files\n');
      await migrate(db.url, { dir });
      const seen = async () => (await db.pool.query(`SELECT file, tx::text FROM tx_seen ORDER BY tx, file`)).rows.map((r) => [r.file, r.tx]);
      const [m, ...rest] = await seen();
      expect(m[0]).toBe('997_marked.sql');
      // in 997's transaction, then again (with every repeatable file) after the last migration
      expect(rest.map((r) => r[0])).toEqual(['repeatable/99_mark.sql', 'repeatable/99_mark.sql']);
      expect(rest[0][1]).toBe(m[1]);
      expect(rest[1][1]).not.toBe(m[1]);

      // not the last pending one: a repeatable file may need a later migration, so only after it
      await db.pool.query('TRUNCATE tx_seen');
      mark('998_marked.sql', '-- with: the repeatable files\n');
      mark('999_plain.sql');
      await migrate(db.url, { dir });
      const txs = await seen();
      expect(txs.map((r) => r[0])).toEqual(['998_marked.sql', '999_plain.sql', 'repeatable/99_mark.sql']);
      expect(new Set(txs.map((r) => r[1])).size).toBe(3);
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
