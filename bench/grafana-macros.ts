/**
 * What Grafana does to a PostgreSQL panel or alert query before Postgres sees it, so tests can run
 * the provisioned SQL exactly as Grafana would. Three stages, in Grafana's order:
 *
 *  1. Frontend template interpolation (`templateSrv.replace` with the SQL data sources'
 *     `interpolateVariable`, public/app/features/plugins/sql/datasource/SqlDatasource.ts): dashboard
 *     variables (`$v`, `${v}`, `${v:format}`, `[[v]]`), multi-value / All → single-quoted and
 *     comma-joined, single values with `'` doubled, and the built-ins `$__from`/`$__to` (epoch ms,
 *     or `${__from:date:iso}` / `:date:seconds`), `$__interval`, `$__interval_ms`, `$__range*`.
 *     Alert rules skip this stage (no dashboard variables exist there).
 *  2. Backend global interpolation (pkg/tsdb/grafana-postgresql-datasource/sqleng `Interpolate`):
 *     `$__interval_ms`, `$__interval` (gtime.FormatInterval), `$__unixEpochFrom()`, `$__unixEpochTo()`.
 *  3. The PostgreSQL macro engine (pkg/tsdb/grafana-postgresql-datasource/macros.go): every
 *     `$name(args)` matched by `\$([_a-zA-Z0-9]+)\(([^\)]*)\)`, args split on `,` and trimmed of
 *     spaces; unknown macro names are an error, as in Grafana.
 *
 * Rules followed: macros.go of grafana/grafana at commit 0577088 (the newest version read; the
 * generation whose Interpolate takes `query *backend.DataQuery`, shipped in Grafana 12/13 — its
 * macro outputs are unchanged from the older `fillConf` generation), non-TimescaleDB branch;
 * sqleng's Interpolate as in the same tree. Reproduced details that
 * matter for correctness: times are UTC RFC3339Nano (fraction trimmed, `Z`), `$__timeFilter` is an
 * inclusive BETWEEN, `$__timeGroup` prints interval seconds with Go's `%v` (so 14 days is
 * `1.2096e+06`), a `$__timeGroup(…)` directly followed by `,` becomes `$__timeGroupAlias` (the
 * pre-5.3 compatibility rule), and `$__unixEpochFilter` is `>= from AND <= to` in whole seconds.
 * The panel interval itself comes from Grafana's own `rangeUtil.calculateInterval` (@grafana/data).
 */
import path from 'node:path';
import type { dateTime as DateTimeFn, rangeUtil as RangeUtil } from '@grafana/data';

// Grafana's own interval code, loaded from @grafana/data's CommonJS build by file: the package
// index also loads ESM-only markdown code that the node test project does not transform.
const gdata = path.join(path.dirname(require.resolve('@grafana/data/package.json')), 'dist/cjs/datetime');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rangeUtil = require(path.join(gdata, 'rangeutil.cjs')) as typeof RangeUtil;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dateTime } = require(path.join(gdata, 'moment_wrapper.cjs')) as { dateTime: typeof DateTimeFn };

export interface TimeRange {
  from: Date;
  to: Date;
}

/** A dashboard template variable as the frontend sees it at query time. */
export interface TemplateVariable {
  name: string;
  /** The selected value(s); the literal `$__all` selects All. */
  current: string | string[];
  multi?: boolean;
  includeAll?: boolean;
  /** All values the variable offers (what All expands to when there is no custom allValue). */
  options?: string[];
  /** A custom "All" value, inserted as-is (Grafana skips formatting for it). */
  allValue?: string;
}

export interface QueryContext {
  range: TimeRange;
  /** The query's interval (panel: from calculateInterval; alert rule: model.intervalMs, default 1000). */
  intervalMs: number;
  variables?: TemplateVariable[];
}

export interface ExpandedQuery {
  sql: string;
  /** Set when `$__timeGroup(col, interval, fill)` asked Grafana to fill gaps. */
  fill?: { mode: 'null' | 'previous' | 'value'; value?: number; intervalMs: number };
}

export const ALL_VALUE = '$__all';

// ---- Go formatting helpers ---------------------------------------------------------------------

/** Go's `time.RFC3339Nano` for a UTC time: fractional seconds without trailing zeros, `Z`. */
export function formatRFC3339Nano(d: Date): string {
  const iso = d.toISOString(); // always .sssZ
  const [head, frac] = iso.slice(0, -1).split('.');
  const trimmed = (frac ?? '').replace(/0+$/, '');
  return `${head}${trimmed ? `.${trimmed}` : ''}Z`;
}

/** Go's `fmt.Sprintf("%v", float64)` (= %g, shortest digits): exponent form when exp < -4 or exp >= 6, e.g. `1e+06`. */
export function goFloatV(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expStr] = x.toExponential().split('e'); // shortest round-trip digits
  const exp = Number(expStr);
  // strconv.FormatFloat(x, 'g', -1, 64): "if precision was the shortest possible, use precision 6".
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  const digits = mant.replace('-', '').replace('.', '');
  const neg = x < 0 ? '-' : '';
  if (exp >= 0) {
    const intLen = exp + 1;
    const intPart = digits.slice(0, intLen).padEnd(intLen, '0');
    const fracPart = digits.slice(intLen);
    return `${neg}${intPart}${fracPart ? `.${fracPart}` : ''}`;
  }
  return `${neg}0.${'0'.repeat(-exp - 1)}${digits}`;
}

const GO_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's `time.ParseDuration`, in milliseconds. */
export function parseGoDuration(s: string): number {
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (!rest) throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * GO_UNITS_MS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/**
 * grafana-plugin-sdk-go `gtime.ParseInterval`: `<n>d`, `<n>w`, `<n>M`, `<n>y` (months and years
 * relative to now, as Go's AddDate), otherwise `time.ParseDuration`.
 */
export function parseGrafanaInterval(s: string, now: Date = new Date()): number {
  const m = /^(\d+)([dwMy])$/.exec(s);
  if (!m) return parseGoDuration(s);
  const n = Number(m[1]);
  switch (m[2]) {
    case 'd':
      return n * 86_400_000;
    case 'w':
      return n * 7 * 86_400_000;
    case 'M': {
      const t = new Date(now);
      t.setUTCMonth(t.getUTCMonth() + n);
      return t.getTime() - now.getTime();
    }
    default: {
      const t = new Date(now);
      t.setUTCFullYear(t.getUTCFullYear() + n);
      return t.getTime() - now.getTime();
    }
  }
}

/** grafana-plugin-sdk-go `gtime.FormatInterval`: the largest whole unit (y, d, h, m, s, ms). */
export function formatGrafanaInterval(ms: number): string {
  const year = 365 * 86_400_000;
  if (ms >= year) return `${Math.floor(ms / year)}y`;
  if (ms >= 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms >= 1000) return `${Math.floor(ms / 1000)}s`;
  if (ms >= 1) return `${Math.floor(ms)}ms`;
  return '1ms';
}

/** The interval a panel's query gets: Grafana's own rangeUtil.calculateInterval (round, then the min-interval floor). */
export function panelInterval(range: TimeRange, maxDataPoints: number, minInterval?: string): { intervalMs: number; interval: string } {
  const from = dateTime(range.from.getTime());
  const to = dateTime(range.to.getTime());
  return rangeUtil.calculateInterval({ from, to, raw: { from, to } }, maxDataPoints, minInterval);
}

// ---- stage 1: frontend template variables ------------------------------------------------------

const quoteLiteral = (v: string) => `'${String(v).replace(/'/g, "''")}'`;

/** SqlDatasource.interpolateVariable: the default format of SQL data sources. */
function sqlInterpolateVariable(value: string | string[] | number, variable: { multi?: boolean; includeAll?: boolean }): string {
  if (typeof value === 'string') return variable.multi || variable.includeAll ? quoteLiteral(value) : value.replace(/'/g, "''");
  if (typeof value === 'number') return String(value);
  return value.map(quoteLiteral).join(',');
}

function applyFormat(value: string | string[] | number, format: string): string {
  const arr = Array.isArray(value) ? value : [String(value)];
  switch (format) {
    case 'raw':
      return Array.isArray(value) ? value.join(',') : String(value);
    case 'csv':
      return arr.join(',');
    case 'sqlstring':
      return arr.map(quoteLiteral).join(',');
    case 'singlequote':
      return arr.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return arr.map((v) => `"${v.replace(/"/g, '\\"')}"`).join(',');
    case 'pipe':
      return arr.join('|');
    default:
      throw new Error(`grafana-macros: variable format ${JSON.stringify(format)} not implemented`);
  }
}

/** templateSrv's variable regex (public/app/features/variables/utils.ts `variableRegex`). */
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

export function interpolateTemplateVariables(sql: string, ctx: QueryContext): string {
  const vars = new Map((ctx.variables ?? []).map((v) => [v.name, v]));
  const { from, to } = ctx.range;
  const intervalText = rangeUtil.secondsToHms(ctx.intervalMs / 1000);
  return sql.replace(VARIABLE_REGEX, (match, n1?: string, n2?: string, f2?: string, n3?: string, _path?: string, f3?: string) => {
    const name = (n1 ?? n2 ?? n3) as string;
    const fmt = f2 ?? f3;
    if (name === '__from' || name === '__to') {
      const t = name === '__from' ? from : to;
      if (!fmt) return String(t.getTime());
      if (fmt === 'date' || fmt === 'date:iso') return t.toISOString();
      if (fmt === 'date:seconds') return String(Math.floor(t.getTime() / 1000));
      throw new Error(`grafana-macros: ${match} format not implemented`);
    }
    if (name === '__interval') return fmt ? applyFormat(intervalText, fmt) : intervalText;
    if (name === '__interval_ms') return String(ctx.intervalMs);
    if (name === '__range_ms') return String(to.getTime() - from.getTime());
    if (name === '__range_s') return String(Math.round((to.getTime() - from.getTime()) / 1000));
    if (name === '__range') return `${Math.round((to.getTime() - from.getTime()) / 1000)}s`;
    const variable = vars.get(name);
    if (!variable) return match; // templateSrv leaves unknown names (and every macro) untouched
    let value: string | string[] = variable.current;
    // MultiValueVariable.hasAllValue (grafana/scenes packages/scenes/src/variables/variants/MultiValueVariable.ts).
    const isAll = value === ALL_VALUE || (Array.isArray(value) && value[0] === ALL_VALUE);
    if (isAll) {
      // A (truthy) custom all value goes in unformatted — CustomAllValue.formatter in Scenes, and
      // "skip formatting of custom all values" in public/app/features/templating/template_srv.ts —
      // otherwise All means every option: with zero options that is [], which the SQL data source
      // joins to an empty string.
      if (variable.allValue) return variable.allValue;
      value = variable.options ?? [];
    }
    if (Array.isArray(value) && value.length === 1 && !variable.multi && !isAll) value = value[0];
    return fmt ? applyFormat(value, fmt) : sqlInterpolateVariable(value, variable);
  });
}

/**
 * A query variable's value once its query has answered `options`, as Grafana 11.6–13 (Scenes)
 * decides it: MultiValueVariable.getStateUpdateGivenNewOptions in grafana/scenes
 * (packages/scenes/src/variables/variants/MultiValueVariable.ts). Zero options: All when the
 * variable includes All (`$__all`, which then expands to no values), else `[]` (multi) or `''`.
 * Otherwise a saved All stays All, saved values still offered stay, and anything else falls back
 * to the first option.
 */
export function afterOptions(v: Omit<TemplateVariable, 'options'>, options: string[]): TemplateVariable {
  const saved = v.current;
  const hasAll = saved === ALL_VALUE || (Array.isArray(saved) && saved[0] === ALL_VALUE);
  let current: string | string[];
  if (options.length === 0) current = v.includeAll ? ALL_VALUE : v.multi ? [] : '';
  else if (hasAll) current = v.includeAll ? saved : v.multi ? [options[0]] : options[0];
  else if (v.multi) {
    const valid = (Array.isArray(saved) ? saved : [saved]).filter((x) => options.includes(x));
    current = valid.length ? valid : [options[0]];
  } else current = options.includes(saved as string) ? saved : options[0];
  return { ...v, options, current };
}

// ---- stage 2: sqleng global interpolation ------------------------------------------------------

export function interpolateGlobal(sql: string, ctx: QueryContext): string {
  return sql
    .split('$__interval_ms')
    .join(String(Math.trunc(ctx.intervalMs)))
    .split('$__interval')
    .join(formatGrafanaInterval(ctx.intervalMs))
    .split('$__unixEpochFrom()')
    .join(String(Math.floor(ctx.range.from.getTime() / 1000)))
    .split('$__unixEpochTo()')
    .join(String(Math.floor(ctx.range.to.getTime() / 1000)));
}

// ---- stage 3: macros.go ------------------------------------------------------------------------

const MACRO_REGEX = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

function evaluateMacro(name: string, args: string[], range: TimeRange, out: ExpandedQuery): string {
  const from = formatRFC3339Nano(range.from);
  const to = formatRFC3339Nano(range.to);
  const need = (n: number, what: string) => {
    if (args.length < n || (n === 1 && args[0] === '')) throw new Error(what);
  };
  switch (name) {
    case '__time':
      need(1, `missing time column argument for macro ${name}`);
      return `${args[0]} AS "time"`;
    case '__timeEpoch':
      need(1, `missing time column argument for macro ${name}`);
      return `extract(epoch from ${args[0]}) as "time"`;
    case '__timeFilter':
      need(1, `missing time column argument for macro ${name}`);
      return `${args[0]} BETWEEN '${from}' AND '${to}'`;
    case '__timeFrom':
      return `'${from}'`;
    case '__timeTo':
      return `'${to}'`;
    case '__timeGroup':
    case '__unixEpochGroup': {
      if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`);
      let ms: number;
      try {
        ms = parseGrafanaInterval(args[1].replace(/^'+|'+$/g, ''));
      } catch {
        throw new Error(`error parsing interval ${args[1]}`);
      }
      if (args.length === 3) out.fill = parseFill(args[2], ms);
      const secs = goFloatV(ms / 1000);
      return name === '__timeGroup' ? `floor(extract(epoch from ${args[0]})/${secs})*${secs}` : `floor((${args[0]})/${secs})*${secs}`;
    }
    case '__timeGroupAlias':
      return `${evaluateMacro('__timeGroup', args, range, out)} AS "time"`;
    case '__unixEpochGroupAlias':
      return `${evaluateMacro('__unixEpochGroup', args, range, out)} AS "time"`;
    case '__unixEpochFilter':
      need(1, `missing time column argument for macro ${name}`);
      return `${args[0]} >= ${Math.floor(range.from.getTime() / 1000)} AND ${args[0]} <= ${Math.floor(range.to.getTime() / 1000)}`;
    case '__unixEpochNanoFilter':
      need(1, `missing time column argument for macro ${name}`);
      return `${args[0]} >= ${BigInt(range.from.getTime()) * 1_000_000n} AND ${args[0]} <= ${BigInt(range.to.getTime()) * 1_000_000n}`;
    case '__unixEpochNanoFrom':
      return String(BigInt(range.from.getTime()) * 1_000_000n);
    case '__unixEpochNanoTo':
      return String(BigInt(range.to.getTime()) * 1_000_000n);
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

/** sqleng.SetupFillmode: NULL, previous, or a number. */
function parseFill(arg: string, intervalMs: number): ExpandedQuery['fill'] {
  if (arg === 'NULL') return { mode: 'null', intervalMs };
  if (arg === 'previous') return { mode: 'previous', intervalMs };
  const v = Number(arg);
  if (arg.trim() === '' || Number.isNaN(v)) throw new Error(`error parsing fill value ${arg}`);
  return { mode: 'value', value: v, intervalMs };
}

export function expandPostgresMacros(sql: string, range: TimeRange): ExpandedQuery {
  const out: ExpandedQuery = { sql: '' };
  out.sql = sql.replace(MACRO_REGEX, (whole: string, rawName: string, rawArgs: string, offset: number) => {
    let name = rawName;
    // Pre-5.3 compatibility, as macros.go: a $__timeGroup(...) followed directly by ',' gets the alias.
    // (Grafana looks at the first occurrence of the same text; identical text gives the same answer.)
    if (name === '__timeGroup') {
      const first = sql.indexOf(whole);
      const at = (first >= 0 ? first : offset) + whole.length;
      if (sql[at] === ',') name = '__timeGroupAlias';
    }
    const args = rawArgs.split(',').map((a) => a.replace(/^ +| +$/g, ''));
    return evaluateMacro(name, args, range, out);
  });
  return out;
}

/** Everything Grafana does to a dashboard panel's rawSql before it reaches Postgres. */
export function expandPanelSql(rawSql: string, ctx: QueryContext): ExpandedQuery {
  return expandPostgresMacros(interpolateGlobal(interpolateTemplateVariables(rawSql, ctx), ctx), ctx.range);
}

/** Everything Grafana does to an alert rule's rawSql (no dashboard, so no template variables). */
export function expandAlertSql(rawSql: string, ctx: Omit<QueryContext, 'variables'>): ExpandedQuery {
  return expandPostgresMacros(interpolateGlobal(rawSql, ctx), ctx.range);
}
