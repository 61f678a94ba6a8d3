/**
 * The Grafana query expansion used by the provisioning tests, checked against the outputs Grafana's
 * own code produces (macros.go, sqleng Interpolate, SqlDatasource.interpolateVariable), written out
 * by hand here.
 */
import {
  afterOptions,
  ALL_VALUE,
  expandAlertSql,
  expandPanelSql,
  expandPostgresMacros,
  formatGrafanaInterval,
  formatRFC3339Nano,
  goFloatV,
  interpolateTemplateVariables,
  panelInterval,
  parseGrafanaInterval,
} from '../helpers/grafana-macros';

const range = { from: new Date('2026-11-27T10:00:00Z'), to: new Date('2026-11-27T11:00:00.500Z') };

describe('macros.go', () => {
  it('$__timeFilter is an inclusive BETWEEN of UTC RFC3339Nano times', () => {
    expect(expandPostgresMacros('WHERE $__timeFilter(created_at)', range).sql).toBe("WHERE created_at BETWEEN '2026-11-27T10:00:00Z' AND '2026-11-27T11:00:00.5Z'");
  });

  it('$__timeFrom() / $__timeTo() are quoted timestamps', () => {
    expect(expandPostgresMacros('$__timeFrom()::timestamptz, $__timeTo()', range).sql).toBe("'2026-11-27T10:00:00Z'::timestamptz, '2026-11-27T11:00:00.5Z'");
  });

  it('$__timeGroupAlias floors epoch seconds to the interval and names the column time', () => {
    expect(expandPostgresMacros("SELECT $__timeGroupAlias(c,'5m')", range).sql).toBe('SELECT floor(extract(epoch from c)/300)*300 AS "time"');
    expect(expandPostgresMacros('SELECT $__timeGroupAlias(bucket, 1h)', range).sql).toBe('SELECT floor(extract(epoch from bucket)/3600)*3600 AS "time"');
  });

  it("prints interval seconds as Go's %v does (exponent from 1e6 s)", () => {
    expect(expandPostgresMacros("$__timeGroup(c, '14d')", range).sql).toBe('floor(extract(epoch from c)/1.2096e+06)*1.2096e+06');
    expect(expandPostgresMacros("$__timeGroup(c, '7d')", range).sql).toBe('floor(extract(epoch from c)/604800)*604800');
    expect(expandPostgresMacros("$__timeGroup(c, '100ms')", range).sql).toBe('floor(extract(epoch from c)/0.1)*0.1');
  });

  it('a $__timeGroup directly followed by a comma gets the alias (pre-5.3 rule); before ")" it does not', () => {
    expect(expandPostgresMacros("SELECT $__timeGroup(c,'1m'), v", range).sql).toBe('SELECT floor(extract(epoch from c)/60)*60 AS "time", v');
    expect(expandPostgresMacros("lag(v) OVER (ORDER BY $__timeGroup(c,'1m'))", range).sql).toBe('lag(v) OVER (ORDER BY floor(extract(epoch from c)/60)*60)');
  });

  it('records the fill mode of a third $__timeGroup argument', () => {
    expect(expandPostgresMacros("$__timeGroup(c,'5m', NULL)", range).fill).toEqual({ mode: 'null', intervalMs: 300_000 });
    expect(expandPostgresMacros("$__timeGroup(c,'5m', 0)", range).fill).toEqual({ mode: 'value', value: 0, intervalMs: 300_000 });
    expect(expandPostgresMacros("$__timeGroup(c,'5m', previous)", range).fill?.mode).toBe('previous');
  });

  it('$__unixEpochFilter compares whole epoch seconds', () => {
    expect(expandPostgresMacros('$__unixEpochFilter(ts)', range).sql).toBe('ts >= 1795773600 AND ts <= 1795777200');
  });

  it('unknown macros and bad intervals are errors, as in Grafana', () => {
    expect(() => expandPostgresMacros('$__nope(x)', range)).toThrow('unknown macro "__nope"');
    expect(() => expandPostgresMacros("$__timeGroup(c,'5parsecs')", range)).toThrow('error parsing interval');
    expect(() => expandPostgresMacros('$__timeGroup(c)', range)).toThrow('needs time column and interval');
  });
});

describe('sqleng global interpolation (alert rules see only this and macros.go)', () => {
  it('$__interval_ms, $__interval and $__unixEpochFrom/To()', () => {
    const out = expandAlertSql("SELECT $__interval_ms, '$__interval', $__unixEpochFrom(), $__unixEpochTo()", { range, intervalMs: 90_000 });
    expect(out.sql).toBe("SELECT 90000, '1m', 1795773600, 1795777200");
  });

  it('gtime.FormatInterval keeps the largest whole unit', () => {
    expect([1000, 60_000, 5_400_000, 86_400_000 * 3, 86_400_000 * 400, 0.5].map(formatGrafanaInterval)).toEqual(['1s', '1m', '1h', '3d', '1y', '1ms']);
  });
});

describe('frontend template variables (SqlDatasource.interpolateVariable)', () => {
  const variables = [
    { name: 'service', current: ['amocrm', "o'brien"], multi: true, includeAll: true, options: ['amocrm', 'resend', "o'brien"] },
    { name: 'one', current: "it's", multi: false },
    { name: 'all', current: ALL_VALUE, multi: true, includeAll: true, options: ['a', 'b'] },
    { name: 'custom_all', current: ALL_VALUE, includeAll: true, allValue: '%', options: ['a'] },
    { name: 'single_multi', current: 'resend', multi: true, includeAll: true, options: ['resend'] },
  ];
  const ctx = { range, intervalMs: 300_000, variables };

  it('multi-value: each single-quoted, quotes doubled, comma-joined', () => {
    expect(interpolateTemplateVariables('IN ($service)', ctx)).toBe("IN ('amocrm','o''brien')");
    expect(interpolateTemplateVariables('IN (${service})', ctx)).toBe("IN ('amocrm','o''brien')");
    expect(interpolateTemplateVariables('IN ([[service]])', ctx)).toBe("IN ('amocrm','o''brien')");
  });

  it('All expands to every option; a custom all value goes in as written', () => {
    expect(interpolateTemplateVariables('IN ($all)', ctx)).toBe("IN ('a','b')");
    expect(interpolateTemplateVariables("LIKE '$custom_all'", ctx)).toBe("LIKE '%'");
  });

  it('a single value of a multi variable is still quoted; a plain variable only escapes quotes', () => {
    expect(interpolateTemplateVariables('IN ($single_multi)', ctx)).toBe("IN ('resend')");
    expect(interpolateTemplateVariables("= '$one'", ctx)).toBe("= 'it''s'");
  });

  it('explicit formats win over the data source default', () => {
    expect(interpolateTemplateVariables('${service:csv}', ctx)).toBe("amocrm,o'brien");
    expect(interpolateTemplateVariables('${service:sqlstring}', ctx)).toBe("'amocrm','o''brien'");
  });

  it('built-ins: $__from/$__to in epoch ms or ISO, $__interval from the panel interval', () => {
    expect(interpolateTemplateVariables('$__from $__to ${__from:date:iso} ${__to:date:seconds}', ctx)).toBe('1795773600000 1795777200500 2026-11-27T10:00:00.000Z 1795777200');
    expect(interpolateTemplateVariables("'$__interval' $__interval_ms", ctx)).toBe("'5m' 300000");
  });

  it('leaves macros and unknown names for the backend', () => {
    expect(interpolateTemplateVariables('$__timeFilter(created_at) AND $nope', ctx)).toBe('$__timeFilter(created_at) AND $nope');
  });

  it('a query variable with no options (fresh install): All with no values, which the SQL data source writes as nothing', () => {
    // MultiValueVariable.getStateUpdateGivenNewOptions (grafana/scenes): zero options → All if
    // includeAll, else [] (multi) or '' (single).
    const empty = afterOptions({ name: 'service', current: ['amocrm'], multi: true, includeAll: true }, []);
    expect(empty).toMatchObject({ current: ALL_VALUE, options: [] });
    expect(afterOptions({ name: 'm', current: ['x'], multi: true }, []).current).toEqual([]);
    expect(afterOptions({ name: 's', current: 'x' }, []).current).toBe('');
    const vars = { range, intervalMs: 300_000, variables: [empty] };
    expect(interpolateTemplateVariables('IN ($service)', vars)).toBe('IN ()');
    expect(interpolateTemplateVariables('= ANY (ARRAY[$service]::text[])', vars)).toBe('= ANY (ARRAY[]::text[])');
  });

  it('options arriving: a saved All stays All, a saved value still offered stays, else the first option', () => {
    expect(afterOptions({ name: 'v', current: ALL_VALUE, multi: true, includeAll: true }, ['a', 'b']).current).toBe(ALL_VALUE);
    expect(afterOptions({ name: 'v', current: ['b', 'gone'], multi: true }, ['a', 'b']).current).toEqual(['b']);
    expect(afterOptions({ name: 'v', current: ['gone'], multi: true }, ['a', 'b']).current).toEqual(['a']);
    expect(afterOptions({ name: 'v', current: 'gone' }, ['a', 'b']).current).toBe('a');
  });

  it('the whole pipeline', () => {
    const sql = 'SELECT $__timeGroupAlias(bucket, $__interval), sum(calls) FROM r WHERE $__timeFilter(bucket) AND service_name IN ($service) GROUP BY 1';
    expect(expandPanelSql(sql, ctx).sql).toBe(
      "SELECT floor(extract(epoch from bucket)/300)*300 AS \"time\", sum(calls) FROM r WHERE bucket BETWEEN '2026-11-27T10:00:00Z' AND '2026-11-27T11:00:00.5Z' AND service_name IN ('amocrm','o''brien') GROUP BY 1",
    );
  });
});

describe('Go formatting and intervals', () => {
  it('goFloatV', () => {
    expect([300, 0.1, 1e6, 604800, 2592000, 0.00001, 0.0001, 86400, 1.5].map(goFloatV)).toEqual(['300', '0.1', '1e+06', '604800', '2.592e+06', '1e-05', '0.0001', '86400', '1.5']);
  });

  it('RFC3339Nano trims the fraction', () => {
    expect(formatRFC3339Nano(new Date('2026-01-02T03:04:05.120Z'))).toBe('2026-01-02T03:04:05.12Z');
    expect(formatRFC3339Nano(new Date('2026-01-02T03:04:05.000Z'))).toBe('2026-01-02T03:04:05Z');
  });

  it('gtime.ParseInterval', () => {
    expect(parseGrafanaInterval('1h30m')).toBe(5_400_000);
    expect(parseGrafanaInterval('2d')).toBe(172_800_000);
    expect(parseGrafanaInterval('1w')).toBe(604_800_000);
    expect(parseGrafanaInterval('250ms')).toBe(250);
    expect(() => parseGrafanaInterval('5 minutes')).toThrow();
  });

  it("panel intervals come from Grafana's rangeUtil (rounded, floored by the min interval)", () => {
    const to = new Date('2026-11-27T12:00:00Z');
    const ago = (h: number) => ({ from: new Date(to.getTime() - h * 3_600_000), to });
    expect(panelInterval(ago(24), 300).interval).toBe('5m');
    expect(panelInterval(ago(1 / 12), 300, '1m').intervalMs).toBe(60_000);
    expect(panelInterval(ago(24 * 90), 300).intervalMs).toBe(6 * 3_600_000);
  });
});
