/** Failures: the newest failed calls, optionally for some services/actions or one entity. */
import { InlineField, InlineFieldRow, Input } from '@grafana/ui';
import React from 'react';

import type { ServiceCatalog } from '../datasource';
import type { FailuresQuery } from '../types';
import { LimitInput } from './LimitInput';
import { NamePicker } from './NamePicker';
import { patch } from './patch';
import { actionNames } from './TimeseriesQueryEditor';

interface Props {
  query: FailuresQuery;
  catalog: ServiceCatalog;
  onChange: (query: FailuresQuery) => void;
  onRunQuery: () => void;
}

export function FailuresQueryEditor({ query, catalog, onChange, onRunQuery }: Props) {
  const change = (changes: Partial<FailuresQuery>, run = true) => {
    onChange(patch(query, changes));
    if (run) {
      onRunQuery();
    }
  };
  return (
    <>
      <InlineFieldRow>
        <InlineField label="Services" labelWidth={14} htmlFor="intmon-services">
          <NamePicker id="intmon-services" names={catalog.map((s) => s.service_name)} value={query.services} placeholder="All services" onChange={(services) => change({ services })} />
        </InlineField>
        <InlineField label="Actions" labelWidth={14} htmlFor="intmon-actions">
          <NamePicker id="intmon-actions" names={actionNames(catalog, query.services)} value={query.actions} placeholder="All actions" onChange={(actions) => change({ actions })} />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Limit" labelWidth={14} htmlFor="intmon-limit">
          <LimitInput id="intmon-limit" value={query.limit} onChange={(limit) => change({ limit }, false)} onBlur={onRunQuery} />
        </InlineField>
        <InlineField label="Entity type" labelWidth={14}>
          <Input
            id="intmon-entity-type"
            width={20}
            placeholder="any"
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
      </InlineFieldRow>
    </>
  );
}
