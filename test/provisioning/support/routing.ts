/**
 * What reaches a contact point, from alert instances' firing intervals: the notification policy
 * tree and Alertmanager's aggregation groups, as Grafana's embedded Alertmanager (grafana/alerting,
 * built on prometheus/alertmanager) does it.
 *
 * - Routing follows prometheus/alertmanager dispatch/route.go (`Route.Match`): an alert goes down to
 *   the first child whose matchers all hold (`continue: false`), recursively; with no matching
 *   child the node itself takes it. Children inherit receiver, group_by and the three timings.
 * - Grouping follows dispatch/dispatch.go (`aggrGroup`): alerts with equal values of the route's
 *   group_by labels share a group; a new group flushes after `group_wait`, then every
 *   `group_interval`; a flushed resolved alert is removed, and an empty group is deleted (the next
 *   alert makes a new one, waiting `group_wait` again).
 * - Whether a flush notifies follows notify/notify.go (`DedupStage.needsUpdate`) against the
 *   notification log entry of the group's last notification: notify if no entry and something
 *   fires; if some firing alert was not in the last notification; if nothing fires but the last
 *   notification had firing alerts (the resolve); with send_resolved, if a resolved alert was not in
 *   it; else only once `repeat_interval` has passed.
 */
export type Labels = Record<string, string>;

export interface Route {
  receiver?: string;
  object_matchers?: Array<[string, string, string]>;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: Route[];
}

export interface ResolvedRoute {
  path: string;
  receiver: string;
  groupBy: string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

const ms = (s: string) => {
  const m = /^(\d+)(s|m|h|d)$/.exec(s);
  if (!m) throw new Error(`duration ${s}`);
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
};

function matches(m: [string, string, string], labels: Labels): boolean {
  const [name, op, value] = m;
  const v = labels[name] ?? '';
  if (op === '=') return v === value;
  if (op === '!=') return v !== value;
  if (op === '=~') return new RegExp(`^(?:${value})$`).test(v);
  if (op === '!~') return !new RegExp(`^(?:${value})$`).test(v);
  throw new Error(`matcher operator ${op}`);
}

/** The route an alert with `labels` lands on below `node` (route.go Match with continue false). */
export function routeFor(node: Route, labels: Labels, parent?: ResolvedRoute, path = 'root'): ResolvedRoute | undefined {
  if (!(node.object_matchers ?? []).every((m) => matches(m, labels))) return undefined;
  const here: ResolvedRoute = {
    path,
    receiver: node.receiver ?? parent!.receiver,
    groupBy: node.group_by ?? parent?.groupBy ?? [],
    groupWaitMs: node.group_wait ? ms(node.group_wait) : (parent?.groupWaitMs ?? 30e3),
    groupIntervalMs: node.group_interval ? ms(node.group_interval) : (parent?.groupIntervalMs ?? 300e3),
    repeatIntervalMs: node.repeat_interval ? ms(node.repeat_interval) : (parent?.repeatIntervalMs ?? 4 * 3600e3),
  };
  for (const [i, child] of (node.routes ?? []).entries()) {
    const r = routeFor(child, labels, here, `${path}.${i}`);
    if (r) return r; // continue: false everywhere here
  }
  return here;
}

/** One firing spell of an alert: `id` is the alert's identity (its label set), shared by its spells. */
export interface AlertSpan {
  id: string;
  labels: Labels;
  start: number;
  /** When it resolved; Infinity while still firing at the end. */
  end: number;
}

export interface Notification {
  at: number;
  route: string;
  receiver: string;
  groupKey: string;
  firing: string[];
  resolved: string[];
  /** Some firing alert was not in the group's previous notification: a new page/ticket. */
  isNew: boolean;
}

/**
 * Notifications sent up to `until` for the alerts' spells routed through `tree` (send_resolved
 * on, as the contact points set). Time advances in `stepMs` steps; Grafana re-sends firing alerts
 * every evaluation, so an alert that resolves and fires again between two flushes is simply
 * firing at the flush (the same alert, one identity), as in Alertmanager.
 */
export function notifications(tree: Route, spans: AlertSpan[], until: number, stepMs = 10_000): Notification[] {
  interface Group {
    key: string;
    route: ResolvedRoute;
    nextFlush: number;
    members: Set<string>;
  }
  const byId = new Map<string, AlertSpan[]>();
  for (const s of spans) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
  const firingAt = (id: string, t: number) => byId.get(id)!.some((s) => s.start <= t && t < s.end);
  const routeOf = new Map([...byId].map(([id, ss]) => [id, routeFor(tree, ss[0].labels)!]));
  const groups = new Map<string, Group>();
  const log = new Map<string, { at: number; firing: Set<string>; resolved: Set<string> }>();
  const out: Notification[] = [];
  if (spans.length === 0) return out;
  const start = Math.min(...spans.map((a) => a.start));
  for (let t = start; t <= until; t += stepMs) {
    for (const [id, ss] of byId) {
      if (!firingAt(id, t)) continue;
      const r = routeOf.get(id)!;
      const key = `${r.path}|${r.groupBy.map((l) => `${l}=${ss[0].labels[l] ?? ''}`).join(',')}`;
      let g = groups.get(key);
      if (!g) {
        g = { key, route: r, nextFlush: t + r.groupWaitMs, members: new Set() };
        groups.set(key, g);
      }
      g.members.add(id);
    }
    for (const g of [...groups.values()]) {
      if (g.nextFlush > t) continue;
      const firing = [...g.members].filter((id) => firingAt(id, t));
      const resolved = [...g.members].filter((id) => !firingAt(id, t));
      const entry = log.get(g.key);
      let notify: boolean;
      if (!entry) notify = firing.length > 0;
      else if (!firing.every((f) => entry.firing.has(f))) notify = true;
      else if (firing.length === 0) notify = entry.firing.size > 0;
      else if (!resolved.every((r) => entry.resolved.has(r))) notify = true;
      else notify = entry.at <= t - g.route.repeatIntervalMs;
      if (notify) {
        out.push({ at: t, route: g.route.path, receiver: g.route.receiver, groupKey: g.key, firing, resolved, isNew: firing.some((f) => !entry?.firing.has(f)) });
        log.set(g.key, { at: t, firing: new Set(firing), resolved: new Set(resolved) });
      }
      for (const r of resolved) g.members.delete(r);
      if (g.members.size === 0) groups.delete(g.key);
      else g.nextFlush = t + g.route.groupIntervalMs;
    }
  }
  return out;
}
