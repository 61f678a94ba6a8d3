/** Variable query: list services, or the actions of some services (literals or `$service`). */
import type { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, RadioButtonGroup } from '@grafana/ui';
import React from 'react';

import type { DataSource } from '../datasource';
import type { IntmonOptions, IntmonQuery, VariableQuery, VariableQueryKind } from '../types';
import { NamePicker } from './NamePicker';
import { patch } from './patch';
import { useServiceCatalog } from './useServiceCatalog';

export type VariableEditorProps = QueryEditorProps<DataSource, IntmonQuery, IntmonOptions, VariableQuery>;

const KIND_OPTIONS: Array<{ label: string; value: VariableQueryKind }> = [
  { label: 'Services', value: 'services' },
  { label: 'Actions', value: 'actions' },
];

export function VariableQueryEditor({ query, datasource, onChange }: VariableEditorProps) {
  const catalog = useServiceCatalog(datasource);
  const kind: VariableQueryKind = query.kind === 'actions' ? 'actions' : 'services';
  return (
    <InlineFieldRow>
      <InlineField label="Values" labelWidth={14}>
        <RadioButtonGroup<VariableQueryKind>
          options={KIND_OPTIONS}
          value={kind}
          onChange={(k) => onChange(k === 'services' ? patch(query, { kind: k, services: undefined }) : patch(query, { kind: k }))}
        />
      </InlineField>
      {kind === 'actions' && (
        <InlineField label="Of services" labelWidth={14} htmlFor="intmon-variable-services">
          <NamePicker
            id="intmon-variable-services"
            names={catalog.map((s) => s.service_name)}
            value={query.services}
            placeholder="All services"
            onChange={(services) => onChange(patch(query, { services }))}
          />
        </InlineField>
      )}
    </InlineFieldRow>
  );
}
