/** Row limit (1–1000); an empty or invalid entry removes the limit so the API default applies. */
import { Input } from '@grafana/ui';
import React from 'react';

import { DEFAULT_LIMIT, MAX_LIMIT } from '../types';

interface Props {
  id: string;
  value: number | undefined;
  onChange: (limit: number | undefined) => void;
  onBlur: () => void;
}

export function LimitInput({ id, value, onChange, onBlur }: Props) {
  return (
    <Input
      id={id}
      type="number"
      min={1}
      max={MAX_LIMIT}
      width={12}
      placeholder={String(DEFAULT_LIMIT)}
      value={value ?? ''}
      onChange={(e) => {
        const n = Number.parseInt(e.currentTarget.value, 10);
        onChange(Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_LIMIT) : undefined);
      }}
      onBlur={onBlur}
    />
  );
}
