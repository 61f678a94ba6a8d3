/** ConfigEditor: exact onOptionsChange payloads; the frozen props are never mutated. */
import type { DataSourceSettings } from '@grafana/data';
import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import { ConfigEditor } from '../../src/plugin/components/ConfigEditor';
import type { IntmonOptions, IntmonSecureOptions } from '../../src/plugin/types';
import { deepFreeze } from './freeze';

function settings(over: Partial<DataSourceSettings<IntmonOptions, IntmonSecureOptions>> = {}) {
  return deepFreeze({
    id: 1,
    uid: 'intmon',
    orgId: 1,
    name: 'Integration Monitor',
    type: 'intmon-integrations-datasource',
    typeName: 'Integration Monitor',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData: { apiUrl: 'http://old:3100' },
    secureJsonFields: {},
    secureJsonData: {},
    ...over,
  } as DataSourceSettings<IntmonOptions, IntmonSecureOptions>);
}

test('editing the URL sends jsonData.apiUrl and keeps everything else', () => {
  const options = settings();
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  const input = screen.getByLabelText(/^API URL/);
  expect(input).toHaveValue('http://old:3100');
  fireEvent.change(input, { target: { value: 'http://api:3100' } });
  expect(onOptionsChange).toHaveBeenCalledTimes(1);
  expect(onOptionsChange).toHaveBeenCalledWith({ ...options, jsonData: { apiUrl: 'http://api:3100' } });
});

test('typing a token puts it in secureJsonData only', async () => {
  const options = settings();
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  const input = screen.getByLabelText(/^API token/);
  expect(input).toHaveAttribute('type', 'password');
  await userEvent.type(input, 'x');
  expect(onOptionsChange).toHaveBeenLastCalledWith({ ...options, secureJsonData: { apiToken: 'x' } });
  const sent = onOptionsChange.mock.calls[0][0];
  expect(JSON.stringify(sent.jsonData)).not.toContain('x"');
});

test('a stored token shows as configured and Reset clears it', async () => {
  const options = settings({ secureJsonFields: { apiToken: true } });
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  expect(screen.getByDisplayValue('configured')).toBeDisabled();
  await userEvent.click(screen.getByRole('button', { name: 'Reset' }));
  expect(onOptionsChange).toHaveBeenCalledWith({ ...options, secureJsonFields: { apiToken: false }, secureJsonData: { apiToken: '' } });
});
