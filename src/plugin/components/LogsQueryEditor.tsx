/** Logs: every call about one entity (a lead, a student, an e-mail), newest first. */
import { InlineField, InlineFieldRow, Input } from '@grafana/ui';
import React from 'react';

import type { ServiceCatalog } from '../datasource';
import type { LogsQuery } from '../types';
import { LimitInput } from './LimitInput';
import { NamePicker } from './NamePicker';
import { patch } from './patch';

interface Props {
  query: LogsQuery;
  catalog: ServiceCatalog;
  onChange: (query: LogsQuery) => void;
  onRunQuery: () => void;
}

export function LogsQueryEditor({ query, catalog, onChange, onRunQuery }: Props) {
  const change = (changes: Partial<LogsQuery>, run = true) => {
    onChange(patch(query, changes));
    if (run) {
      onRunQuery();
    }
  };
  const incomplete = !query.entityId && !query.entityType && !query.services?.length;
  return (
    <InlineFieldRow>
      <InlineField label="Entity type" labelWidth={14} invalid={incomplete} error={incomplete ? 'Choose an entity or a service' : undefined}>
        <Input
          id="intmon-entity-type"
          width={20}
          placeholder="lead, student…"
          value={query.entityType ?? ''}
          onChange={(e) => change({ entityType: e.currentTarget.value || undefined }, false)}
          onBlur={onRunQuery}
        />
      </InlineField>
      <InlineField label="Entity id" labelWidth={14}>
        <Input
          id="intmon-entity-id"
          width={40}
          placeholder="uuid or $variable"
          value={query.entityId ?? ''}
          onChange={(e) => change({ entityId: e.currentTarget.value || undefined }, false)}
          onBlur={onRunQuery}
        />
      </InlineField>
      <InlineField label="Services" labelWidth={14} htmlFor="intmon-services">
        <NamePicker id="intmon-services" names={catalog.map((s) => s.service_name)} value={query.services} placeholder="All services" onChange={(services) => change({ services })} />
      </InlineField>
      <InlineField label="Limit" labelWidth={14} htmlFor="intmon-limit">
        <LimitInput id="intmon-limit" value={query.limit} onChange={(limit) => change({ limit }, false)} onBlur={onRunQuery} />
      </InlineField>
    </InlineFieldRow>
  );
}
