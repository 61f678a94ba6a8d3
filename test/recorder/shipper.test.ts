/**
 * The shipper alone, with a fake writer in place of PgWriter (no database): batching, the fresh
 * and merge paths, isolating refused rows by halving, conflicts, and spooling while "down" then
 * replaying. The spool and dead letters are the real ones, in a temporary directory.
 */
import fs from 'node:fs';
import { COLUMNS } from '../../src/recorder/copy-format';
import { DeadLetters } from '../../src/recorder/dead-letter';
import type { Queued } from '../../src/recorder/queue';
import { RecorderError, Reporter } from '../../src/recorder/report';
import { RowWriter, Shipper } from '../../src/recorder/shipper';
import { Spool } from '../../src/recorder/spool';
import { logRow as row, removeTempDirs, tempDir } from './helpers';

const SERVICE = COLUMNS.indexOf('service_name');
const ID = COLUMNS.indexOf('id');
const lines = (text: string) => text.split(/(?<=\n)/).filter((l) => l !== '');
const idOf = (line: string) => line.split('\t')[ID];

/** Stores what it is given, like COPY: all of a call or (on an error) nothing of it. */
class FakeWriter implements RowWriter {
  readonly calls: Array<{ fresh: string[]; merge: string[] }> = [];
  readonly stored: string[] = [];
  /** Thrown by every write while set (no SQLSTATE: the database is unreachable). */
  down: Error | null = null;
  /** This many writes fail as a deadlock first. */
  conflicts = 0;

  async write(fresh: string, merge: string): Promise<void> {
    const call = { fresh: lines(fresh), merge: lines(merge) };
    this.calls.push(call);
    if (this.down) throw this.down;
    if (this.conflicts > 0) {
      this.conflicts--;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    }
    // A row of service "refused" is one PostgreSQL rejects for its content (class 22).
    if ([...call.fresh, ...call.merge].some((l) => l.split('\t')[SERVICE] === 'refused')) {
      throw Object.assign(new Error('invalid input syntax'), { code: '22P02' });
    }
    this.stored.push(...call.fresh, ...call.merge);
  }
}

interface Setup {
  shipper: Shipper;
  writer: FakeWriter;
  problems: RecorderError[];
  deadLetterFile: string;
}

const made: Shipper[] = [];
function setup(opts: { maxBatchRows?: number; maxMemoryBytes?: number } = {}): Setup {
  const dir = tempDir('intmon-shipper-');
  const writer = new FakeWriter();
  const problems: RecorderError[] = [];
  const deadLetters = new DeadLetters(dir, 1024 * 1024);
  const shipper = new Shipper(
    writer,
    new Spool(dir, 16 * 1024 * 1024),
    deadLetters,
    new Reporter((e) => problems.push(e as RecorderError)),
    opts.maxBatchRows ?? 5,
    opts.maxMemoryBytes ?? 1024 * 1024,
  );
  made.push(shipper);
  return { shipper, writer, problems, deadLetterFile: deadLetters.file };
}

/** Runs the drain to its end, including a kick enqueue() scheduled with setImmediate. */
async function drain(shipper: Shipper): Promise<void> {
  shipper.kick();
  await shipper.settled();
  await new Promise((r) => setImmediate(r));
  await shipper.settled();
}

afterEach(() => {
  for (const s of made.splice(0)) s.spool.close();
  removeTempDirs();
});

test('batches of maxBatchRows in order; new rows go fresh, later versions by the merge path', async () => {
  const { shipper, writer } = setup({ maxBatchRows: 5 });
  const queued: Queued[] = Array.from({ length: 12 }, (_, i) => ({ row: row(), merge: i % 4 === 0 }));
  for (const q of queued) shipper.enqueue(q);
  await drain(shipper);
  expect(writer.calls.map((c) => c.fresh.length + c.merge.length)).toEqual([5, 5, 2]);
  const sent = writer.calls.flatMap((c) => [...c.merge, ...c.fresh].map(idOf));
  expect(sent.sort()).toEqual(queued.map((q) => q.row.id).sort());
  const merged = writer.calls.flatMap((c) => c.merge.map(idOf));
  expect(merged).toEqual(queued.filter((q) => q.merge).map((q) => q.row.id));
  // Batches leave in the order they were queued.
  const firstIds = writer.calls.map((c) => new Set([...c.fresh, ...c.merge].map(idOf)));
  queued.forEach((q, i) => expect(firstIds[Math.floor(i / 5)].has(q.row.id)).toBe(true));
  expect(shipper.counters).toMatchObject({ written: 12, spooled: 0, deadLettered: 0, dropped: 0 });
});

test('refused rows are isolated by halving and dead-lettered; every other row of the batch is stored', async () => {
  const { shipper, writer, problems, deadLetterFile } = setup({ maxBatchRows: 16 });
  const queued: Queued[] = Array.from({ length: 16 }, (_, i) => ({ row: row(i === 3 || i === 12 ? 'refused' : 'resend'), merge: false }));
  for (const q of queued) shipper.enqueue(q);
  await drain(shipper);
  const good = queued.filter((q) => q.row.service_name !== 'refused').map((q) => q.row.id);
  expect(writer.stored.map(idOf).sort()).toEqual(good.sort());
  const letters = fs
    .readFileSync(deadLetterFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(letters.map((l) => [l.columns.id, l.columns.service_name, l.source, l.sqlstate])).toEqual([
    [queued[3].row.id, 'refused', 'write', '22P02'],
    [queued[12].row.id, 'refused', 'write', '22P02'],
  ]);
  expect(shipper.counters).toMatchObject({ written: 14, deadLettered: 2, dropped: 0, spooled: 0 });
  expect(problems.map((p) => p.kind)).toEqual(['dead-letter', 'dead-letter']);
  expect(shipper.up).toBe(true);
});

test('a conflict (deadlock) is retried with the same rows by the idempotent path, nothing dead-lettered', async () => {
  const { shipper, writer, deadLetterFile } = setup();
  writer.conflicts = 1;
  const queued: Queued[] = Array.from({ length: 3 }, () => ({ row: row(), merge: false }));
  for (const q of queued) shipper.enqueue(q);
  await drain(shipper);
  expect(writer.calls).toHaveLength(2);
  expect(writer.calls[1]).toEqual({ fresh: [], merge: writer.calls[0].fresh });
  expect(writer.stored.map(idOf)).toEqual(queued.map((q) => q.row.id));
  expect(fs.existsSync(deadLetterFile)).toBe(false);
  expect(shipper.counters).toMatchObject({ written: 3, deadLettered: 0 });
});

test('down: rows are spooled, nothing is tried during backoff; back: the spool is replayed first, then new rows', async () => {
  const { shipper, writer, problems } = setup({ maxBatchRows: 5 });
  writer.down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const before: Queued[] = Array.from({ length: 7 }, () => ({ row: row(), merge: false }));
  for (const q of before) shipper.enqueue(q);
  await drain(shipper);
  expect(shipper.up).toBe(false);
  expect(writer.calls).toHaveLength(1); // the first batch found it down; the rest went to the spool
  expect(shipper.counters).toMatchObject({ spooled: 7, written: 0, dropped: 0 });
  expect(shipper.spool.hasData()).toBe(true);
  expect(problems.map((p) => p.kind)).toEqual(['database-down']);

  // Within the backoff a kick does not touch the writer.
  const during = row();
  shipper.enqueue({ row: during, merge: false });
  await drain(shipper);
  expect(writer.calls).toHaveLength(1);
  expect(shipper.counters.spooled).toBe(8);

  writer.down = null;
  const after: Queued[] = Array.from({ length: 3 }, () => ({ row: row(), merge: false }));
  for (const q of after) shipper.enqueue(q);
  shipper.probeNow();
  await drain(shipper);
  expect(shipper.up).toBe(true);
  expect(shipper.spool.hasData()).toBe(false);
  expect(shipper.counters).toMatchObject({ replayed: 8, written: 3, dropped: 0 });
  // Spooled rows are replayed (idempotently: they may have been half-written) before new ones.
  const stored = writer.stored.map(idOf);
  expect(stored.slice(0, 8).sort()).toEqual([...before.map((q) => q.row.id), during.id].sort());
  expect(stored.slice(8)).toEqual(after.map((q) => q.row.id));
  const replayCalls = writer.calls.slice(1).filter((c) => c.merge.length > 0);
  expect(replayCalls.flatMap((c) => c.merge)).toHaveLength(8);
});

test('past maxMemoryBytes the queue spills to the spool on the caller path, and is replayed later', async () => {
  const { shipper, writer } = setup({ maxBatchRows: 100, maxMemoryBytes: 1 });
  const queued: Queued[] = Array.from({ length: 4 }, () => ({ row: row(), merge: false }));
  for (const q of queued) shipper.enqueue(q);
  expect(writer.calls).toHaveLength(0);
  expect(shipper.queue.rows).toBe(0);
  expect(shipper.counters.spooled).toBe(4);
  await drain(shipper);
  expect(writer.stored.map(idOf).sort()).toEqual(queued.map((q) => q.row.id).sort());
  expect(shipper.counters).toMatchObject({ replayed: 4, written: 0 });
});
