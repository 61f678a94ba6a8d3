/**
 * `integration-monitor day-zones list | add <zone> | remove <zone>`: the zones whose days are kept
 * whole (docs/schema.md "Time zones"), run as DATABASE_URL's role (the owner, or one granted
 * service_role) or on the embedded database.
 */
import { Client } from 'pg';
import { addDayZone, listDayZones, removeDayZone } from '../store/queries';

export const DAY_ZONES_USAGE = 'usage: integration-monitor day-zones list | add <zone> | remove <zone>';

/** Exit code: 0 done, 1 the database refused (not a zone name, too many zones, not permitted), 2 bad usage. */
export async function runDayZones(url: string, args: string[], out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const [sub, zone, ...rest] = args;
  const needsZone = sub === 'add' || sub === 'remove';
  if (!['list', 'add', 'remove'].includes(sub ?? '') || (needsZone && !zone) || rest.length > 0 || (sub === 'list' && zone)) {
    err(DAY_ZONES_USAGE);
    return 2;
  }
  const c = new Client({ connectionString: url, application_name: 'integration-monitor day-zones' });
  await c.connect();
  try {
    if (sub === 'list') {
      const zones = await listDayZones(c);
      if (!zones.length) out('no day zones (days are composed in every zone but UTC)');
      for (const z of zones) out(`${z.zone}\tdays from ${z.completeFrom ?? '(backfill unfinished)'}\t${z.dayRows} day rows`);
      return 0;
    }
    try {
      if (sub === 'add') {
        const started = Date.now();
        const name = await addDayZone(c, zone!);
        out(name === null ? `${zone} is UTC: its days are the UTC day rollups, nothing to add` : `${name}: days kept (backfilled in ${Date.now() - started} ms)`);
      } else {
        out((await removeDayZone(c, zone!)) ? `${zone}: days no longer kept` : `${zone} was not a day zone`);
      }
      return 0;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // 22023 not a zone name, 54000 too many zones, 42501 not permitted
      if (code === '22023' || code === '54000' || code === '42501') {
        err(`integration-monitor day-zones ${sub}: ${(e as Error).message}`);
        return 1;
      }
      throw e;
    }
  } finally {
    await c.end();
  }
}
