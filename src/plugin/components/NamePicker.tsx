/**
 * Multi-select of names (services, actions, statuses) that also offers the dashboard's template
 * variables (`$service`) and accepts typed values, so a query can follow a variable.
 */
import { type ComboboxOption, MultiCombobox } from '@grafana/ui';
import { getTemplateSrv } from '@grafana/runtime';
import React, { useMemo } from 'react';

interface Props {
  id: string;
  names: readonly string[];
  value: readonly string[] | undefined;
  onChange: (value: string[] | undefined) => void;
  placeholder?: string;
  /** Offer `$variables` too (not for fixed enums such as status). */
  withVariables?: boolean;
  width?: number;
}

function variableNames(): string[] {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => `$${v.name}`);
  } catch {
    return [];
  }
}

export function NamePicker({ id, names, value, onChange, placeholder, withVariables = true, width = 40 }: Props) {
  const options = useMemo<Array<ComboboxOption<string>>>(() => {
    const seen = new Set<string>();
    const out: Array<ComboboxOption<string>> = [];
    const push = (v: string, group?: string) => {
      if (!seen.has(v)) {
        seen.add(v);
        out.push(group ? { label: v, value: v, group } : { label: v, value: v });
      }
    };
    if (withVariables) {
      variableNames().forEach((v) => push(v, 'Variables'));
    }
    names.forEach((n) => push(n));
    // Keep chosen values visible even when the catalog does not list them (yet).
    (value ?? []).forEach((v) => push(v));
    return out;
  }, [names, value, withVariables]);

  return (
    <MultiCombobox<string>
      id={id}
      width={width}
      placeholder={placeholder}
      options={options}
      value={value ? [...value] : []}
      createCustomValue={withVariables}
      isClearable
      onChange={(items) => {
        const next = items.map((i) => i.value);
        onChange(next.length ? next : undefined);
      }}
    />
  );
}
