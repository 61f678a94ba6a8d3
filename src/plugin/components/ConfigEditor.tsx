/**
 * Data source settings: the API's base URL (jsonData, read by the proxy route) and the token
 * (secureJsonData: write-only, encrypted by Grafana, added to requests by the proxy).
 */
import type { DataSourcePluginOptionsEditorProps } from '@grafana/data';
import { Field, FieldSet, Input, SecretInput } from '@grafana/ui';
import React, { ChangeEvent } from 'react';

import type { IntmonOptions, IntmonSecureOptions } from '../types';

export type ConfigEditorProps = DataSourcePluginOptionsEditorProps<IntmonOptions, IntmonSecureOptions>;

export function ConfigEditor({ options, onOptionsChange }: ConfigEditorProps) {
  const secureJsonData = options.secureJsonData ?? {};
  const tokenConfigured = Boolean(options.secureJsonFields?.apiToken);

  const onUrlChange = (e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, jsonData: { ...options.jsonData, apiUrl: e.target.value } });

  const onTokenChange = (e: ChangeEvent<HTMLInputElement>) => onOptionsChange({ ...options, secureJsonData: { ...secureJsonData, apiToken: e.target.value } });

  const onTokenReset = () =>
    onOptionsChange({
      ...options,
      secureJsonFields: { ...options.secureJsonFields, apiToken: false },
      secureJsonData: { ...secureJsonData, apiToken: '' },
    });

  return (
    <FieldSet label="Integration Monitor API">
      <Field label="API URL" htmlFor="intmon-api-url" description="Base URL of the monitoring API as Grafana's server reaches it, e.g. http://localhost:3100">
        <Input id="intmon-api-url" name="apiUrl" width={60} placeholder="http://localhost:3100" value={options.jsonData.apiUrl ?? ''} onChange={onUrlChange} />
      </Field>
      <Field label="API token" htmlFor="intmon-api-token" description="Bearer token (JWT) with a read role; stored encrypted and sent only by Grafana's server">
        <SecretInput
          id="intmon-api-token"
          name="apiToken"
          width={60}
          placeholder="eyJhbGciOi…"
          isConfigured={tokenConfigured}
          value={secureJsonData.apiToken ?? ''}
          onChange={onTokenChange}
          onReset={onTokenReset}
        />
      </Field>
    </FieldSet>
  );
}
