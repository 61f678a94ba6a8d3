/** Time series: metric, grouping, filters and an optional bucket width. */
import { Combobox, InlineField, InlineFieldRow, Input, RadioButtonGroup } from '@grafana/ui';
import React from 'react';

import type { ServiceCatalog } from '../datasource';
import { GROUP_BY, GroupBy, METRIC_LABELS, METRICS, Status, STATUSES, TimeseriesQuery } from '../types';
import { NamePicker } from './NamePicker';
import { patch } from './patch';

interface Props {
  query: TimeseriesQuery;
  catalog: ServiceCatalog;
  onChange: (query: TimeseriesQuery) => void;
  onRunQuery: () => void;
}

const METRIC_OPTIONS = METRICS.map((m) => ({ label: METRIC_LABELS[m], value: m }));
const GROUP_OPTIONS: Array<{ label: string; value: GroupBy | '' }> = [{ label: 'None', value: '' }, ...GROUP_BY.map((g) => ({ label: g[0].toUpperCase() + g.slice(1), value: g }))];

/** Actions of the chosen literal services (all actions when none or only variables are chosen). */
export function actionNames(catalog: ServiceCatalog, services: readonly string[] | undefined): string[] {
  const literal = (services ?? []).filter((s) => !s.startsWith('$'));
  const chosen = literal.length ? catalog.filter((s) => literal.includes(s.service_name)) : catalog;
  return [...new Set(chosen.flatMap((s) => s.actions))].sort();
}

export function TimeseriesQueryEditor({ query, catalog, onChange, onRunQuery }: Props) {
  const change = (changes: Partial<TimeseriesQuery>, run = true) => {
    onChange(patch(query, changes));
    if (run) {
      onRunQuery();
    }
  };
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Metric" labelWidth={14} htmlFor="intmon-metric">
          <Combobox id="intmon-metric" width={30} options={METRIC_OPTIONS} value={query.metric} onChange={(o) => o && change({ metric: o.value })} />
        </InlineField>
        <InlineField label="Group by" labelWidth={14}>
          <RadioButtonGroup<GroupBy | ''> options={GROUP_OPTIONS} value={query.groupBy ?? ''} onChange={(v) => change({ groupBy: v === '' ? undefined : v })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Services" labelWidth={14} htmlFor="intmon-services">
          <NamePicker id="intmon-services" names={catalog.map((s) => s.service_name)} value={query.services} placeholder="All services" onChange={(services) => change({ services })} />
        </InlineField>
        <InlineField label="Actions" labelWidth={14} htmlFor="intmon-actions">
          <NamePicker id="intmon-actions" names={actionNames(catalog, query.services)} value={query.actions} placeholder="All actions" onChange={(actions) => change({ actions })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Statuses" labelWidth={14} htmlFor="intmon-statuses">
          <NamePicker
            id="intmon-statuses"
            names={STATUSES}
            withVariables={false}
            value={query.statuses}
            placeholder="All statuses"
            onChange={(statuses) => change({ statuses: statuses as Status[] | undefined })}
          />
        </InlineField>
        <InlineField label="Interval" labelWidth={14} tooltip="Bucket width such as 5m or 1h; empty follows the panel's $__interval">
          <Input
            id="intmon-interval"
            width={14}
            placeholder="auto"
            value={query.interval ?? ''}
            onChange={(e) => change({ interval: e.currentTarget.value || undefined }, false)}
            onBlur={onRunQuery}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}
