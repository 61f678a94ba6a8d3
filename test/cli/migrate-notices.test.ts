import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { createTestDatabase, TestDatabase } from '../helpers/db';

describe('migrate reports what a migration tells the operator', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase({ migrated: false });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-mig-'));
    fs.writeFileSync(path.join(dir, '001_notice.sql'), "DO $$ BEGIN RAISE NOTICE 'role created without BYPASSRLS'; RAISE WARNING 'grant refused'; END $$;");
  });
  afterAll(async () => {
    await db.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes NOTICE and WARNING lines of applied migrations to the log, and nothing of its own bookkeeping', async () => {
    const lines: string[] = [];
    await migrate(db.url, { dir, log: (l) => lines.push(l) });
    expect(lines).toEqual(['NOTICE: role created without BYPASSRLS', 'WARNING: grant refused', 'applied 001_notice.sql']);
    const again: string[] = [];
    await migrate(db.url, { dir, log: (l) => again.push(l) });
    expect(again).toEqual([]);
  });
});
