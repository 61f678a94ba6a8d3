/**
 * The query editor: a query-type switch and one small editor per type. Older saved shapes are
 * migrated for display and the migrated query is reported once through onChange.
 */
import type { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, RadioButtonGroup, Stack } from '@grafana/ui';
import React, { useEffect, useMemo, useRef } from 'react';

import type { DataSource } from '../datasource';
import { migrateQuery } from '../migrate';
import { DEFAULT_LIMIT, DEFAULT_QUERY, IntmonOptions, IntmonQuery, QUERY_TYPE_LABELS, QUERY_TYPES, QueryType } from '../types';
import { FailuresQueryEditor } from './FailuresQueryEditor';
import { HealthQueryEditor } from './HealthQueryEditor';
import { LogsQueryEditor } from './LogsQueryEditor';
import { TimeseriesQueryEditor } from './TimeseriesQueryEditor';
import { useServiceCatalog } from './useServiceCatalog';

export type Props = QueryEditorProps<DataSource, IntmonQuery, IntmonOptions>;

const TYPE_OPTIONS = QUERY_TYPES.map((t) => ({ label: QUERY_TYPE_LABELS[t], value: t }));

/** A fresh query of another type keeps refId (and hide/datasource) but nothing type-specific. */
function switchType(query: IntmonQuery, type: QueryType): IntmonQuery {
  const keep = { refId: query.refId, ...(query.hide !== undefined ? { hide: query.hide } : {}), ...(query.datasource ? { datasource: query.datasource } : {}) };
  switch (type) {
    case 'timeseries':
      return { ...keep, ...DEFAULT_QUERY };
    case 'health':
      return { ...keep, queryType: 'health' };
    case 'failures':
      return { ...keep, queryType: 'failures', limit: DEFAULT_LIMIT };
    case 'logs':
      return { ...keep, queryType: 'logs', limit: DEFAULT_LIMIT };
  }
}

/** Deep equality of JSON values regardless of key order. */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(norm)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== undefined)
              .sort(([k1], [k2]) => k1.localeCompare(k2))
              .map(([k, x]) => [k, norm(x)]),
          )
        : v;
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

export function QueryEditor({ query: raw, datasource, onChange, onRunQuery }: Props) {
  const query = useMemo(() => migrateQuery(raw), [raw]);
  const catalog = useServiceCatalog(datasource);
  const migrated = !sameJson(query, raw);

  // Grafana hands over a new onChange on every render: calling the latest one through a ref keeps
  // the migration below from re-running (and re-saving) on each render.
  const onChangeRef = useRef(onChange);
  useEffect(() => {
    onChangeRef.current = onChange;
  });
  useEffect(() => {
    if (migrated) {
      onChangeRef.current(query);
    }
  }, [migrated, query]);

  const body = (() => {
    switch (query.queryType) {
      case 'timeseries':
        return <TimeseriesQueryEditor query={query} catalog={catalog} onChange={onChange} onRunQuery={onRunQuery} />;
      case 'health':
        return <HealthQueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} />;
      case 'failures':
        return <FailuresQueryEditor query={query} catalog={catalog} onChange={onChange} onRunQuery={onRunQuery} />;
      case 'logs':
        return <LogsQueryEditor query={query} catalog={catalog} onChange={onChange} onRunQuery={onRunQuery} />;
    }
  })();

  return (
    <Stack direction="column" gap={1}>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={14}>
          <RadioButtonGroup<QueryType>
            options={TYPE_OPTIONS}
            value={query.queryType}
            onChange={(t) => {
              if (t !== query.queryType) {
                onChange(switchType(query, t));
                onRunQuery();
              }
            }}
          />
        </InlineField>
      </InlineFieldRow>
      {body}
    </Stack>
  );
}
