/** Health: one row per service over a look-back window. */
import { InlineField, InlineFieldRow, Input } from '@grafana/ui';
import React from 'react';

import type { HealthQuery } from '../types';
import { patch } from './patch';

interface Props {
  query: HealthQuery;
  onChange: (query: HealthQuery) => void;
  onRunQuery: () => void;
}

export function HealthQueryEditor({ query, onChange, onRunQuery }: Props) {
  return (
    <InlineFieldRow>
      <InlineField label="Window" labelWidth={14} tooltip="15m, 24h, 7d…; empty uses the dashboard's time range length">
        <Input
          id="intmon-window"
          width={14}
          placeholder="time range"
          value={query.window ?? ''}
          onChange={(e) => onChange(patch(query, { window: e.currentTarget.value || undefined }))}
          onBlur={onRunQuery}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
