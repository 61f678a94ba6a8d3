/**
 * Short-lived mode and wrapHandler in one process: the handler's value and error pass through and
 * its rows are written before it settles; waitUntil takes the flush off the answer; the connection
 * is closed when the flush resolves; with no disk spool, a flush waits for a database that comes
 * back within its budget, and gives up (rows kept in memory, counted) when it does not.
 */
import net from 'node:net';
import { createRecorder } from '../../src/index';
import type { RecorderError } from '../../src/recorder/report';
import { createTestDatabase, TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

async function rows(service: string): Promise<number> {
  const { rows: r } = await db.pool.query<{ n: string }>('SELECT count(*) n FROM integration_logs WHERE service_name = $1', [service]);
  return Number(r[0].n);
}

async function recorderConnections(): Promise<number> {
  const { rows: r } = await db.pool.query<{ n: string }>("SELECT count(*) n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'integration-monitor recorder'", [db.name]);
  return Number(r[0].n);
}

it('wrapHandler: value and error pass through, rows written before it settles, arity kept', async () => {
  // A long flush interval: only the wrapper's flush can have written the rows.
  const rec = createRecorder({ databaseUrl: db.url, shortLived: true, flushIntervalMs: 60_000 });
  const handler = rec.wrapHandler(async (event: { n: number }) => {
    await rec.track('resend', 'send_email', async () => event.n);
    if (event.n < 0) throw new RangeError('negative');
    return event.n * 2;
  });
  expect(handler.length).toBe(1);
  expect(await handler({ n: 21 })).toBe(42);
  expect(await rows('resend')).toBe(1);
  const err = await handler({ n: -1 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RangeError);
  expect(await rows('resend')).toBe(2);
  // Closed before the flush resolved: nothing held between invocations.
  expect(await recorderConnections()).toBe(0);
  await rec.close();
});

it('a long-lived recorder keeps its connection; a short-lived one has closed it when flush resolves', async () => {
  const long = createRecorder({ databaseUrl: db.url, shortLived: false, flushIntervalMs: 60_000 });
  await long.track('whapi', 'send_message', async () => 1);
  await long.flush();
  expect(await recorderConnections()).toBe(1);
  await long.close();
  expect(await recorderConnections()).toBe(0);
});

it('with waitUntil the answer does not wait for the write; the handed-over promise does', async () => {
  const rec = createRecorder({ databaseUrl: db.url, shortLived: true, flushIntervalMs: 60_000 });
  const handed: Promise<unknown>[] = [];
  const handler = rec.wrapHandler(() => rec.track('mobizon', 'send_sms', async () => 'ok'), { waitUntil: (p) => handed.push(p) });
  expect(await handler()).toBe('ok');
  expect(handed).toHaveLength(1);
  expect(await rows('mobizon')).toBe(0); // answered before the write
  await handed[0];
  expect(await rows('mobizon')).toBe(1);
  // A platform that refuses the promise: the wrapper flushes before answering instead.
  const refusing = rec.wrapHandler(() => rec.track('mobizon', 'send_sms', async () => 'ok'), {
    waitUntil: () => {
      throw new Error('no waitUntil outside a request');
    },
  });
  await refusing();
  expect(await rows('mobizon')).toBe(2);
  await rec.close();
});

/** A TCP gate in front of the database: refuses connections until opened. */
async function gate(): Promise<{ url: string; open(): void; close(): Promise<void> }> {
  const target = new URL(db.url);
  let opened = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    if (!opened) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const u = new URL(db.url);
  u.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: u.toString(),
    open: () => (opened = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

it('no disk spool: flush waits for a database that comes back within writeTimeoutMs', async () => {
  const g = await gate();
  const errors: RecorderError[] = [];
  const rec = createRecorder({ databaseUrl: g.url, shortLived: true, flushIntervalMs: 60_000, writeTimeoutMs: 5000, onError: (e) => errors.push(e as RecorderError) });
  for (let i = 0; i < 10; i++) await rec.track('telegram', 'send_message', async () => i);
  setTimeout(() => g.open(), 400);
  const t0 = Date.now();
  await rec.flush();
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(350);
  expect(await rows('telegram')).toBe(10);
  expect(rec.stats()).toMatchObject({ dropped: 0, queuedRows: 0, spoolBytes: 0 });
  expect(errors.map((e) => e.kind)).toContain('database-down');
  await rec.close();
  await g.close();
});

it('no disk spool: a database that stays away ends the flush at its budget; the rows wait in memory, counted', async () => {
  const g = await gate();
  const rec = createRecorder({ databaseUrl: g.url, shortLived: true, flushIntervalMs: 60_000, writeTimeoutMs: 600, onError: () => undefined });
  for (let i = 0; i < 5; i++) await rec.track('amocrm', 'sync_lead', async () => i);
  const t0 = Date.now();
  await rec.flush();
  expect(Date.now() - t0).toBeLessThan(3000);
  const s = rec.stats();
  expect(s.spooled).toBe(5);
  expect(s.spoolBytes).toBeGreaterThan(0);
  expect(s.dropped).toBe(0);
  // The database comes back: the next flush writes what memory held.
  g.open();
  await rec.flush();
  expect(await rows('amocrm')).toBe(5);
  expect(rec.stats().spoolBytes).toBe(0);
  await rec.close();
  await g.close();
});
