/**
 * QueryEditor and VariableQueryEditor: exact onChange payloads for mouse and keyboard input, with
 * the service menus filled from the recorded /services response. Props are frozen: an editor that
 * mutated them would throw.
 */
import type { DataSourceInstanceSettings } from '@grafana/data';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import React from 'react';

import { QueryEditor } from '../../src/plugin/components/QueryEditor';
import { VariableQueryEditor } from '../../src/plugin/components/VariableQueryEditor';
import { DataSource } from '../../src/plugin/datasource';
import type { IntmonOptions, IntmonQuery, VariableQuery } from '../../src/plugin/types';
import { deepFreeze } from './freeze';
import { fixture, FixtureBackend, INSTANCE_URL, TestTemplateSrv } from './helpers';

let ds: DataSource;
beforeEach(() => {
  new TestTemplateSrv([{ name: 'service', current: ['resend'], options: ['resend', 'telegram'] }]).install();
  const f = fixture('services');
  new FixtureBackend().on(f.request, f).install();
  ds = new DataSource({
    id: 1,
    uid: 'intmon',
    type: 'intmon-integrations-datasource',
    name: 'IM',
    url: INSTANCE_URL,
    jsonData: { apiUrl: 'http://api:3100' },
    meta: {},
  } as DataSourceInstanceSettings<IntmonOptions>);
});

async function renderEditor(query: IntmonQuery | Record<string, unknown>) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const q = deepFreeze(query) as IntmonQuery;
  const utils = render(<QueryEditor query={q} datasource={ds} onChange={onChange} onRunQuery={onRunQuery} />);
  // Let the service catalog load.
  await act(async () => {});
  return { ...utils, onChange, onRunQuery, query: q };
}

const TS: IntmonQuery = { refId: 'A', queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service' };

test('picking a metric with the keyboard', async () => {
  const { onChange, onRunQuery } = await renderEditor(TS);
  const metric = screen.getByRole('combobox', { name: 'Metric' });
  await userEvent.click(metric);
  await userEvent.type(metric, 'p95', { skipClick: true });
  // The menu filters as you type; wait until only the match is offered, then take it with Enter.
  await waitFor(() => expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual(['Latency p95']));
  await userEvent.keyboard('{ArrowDown}{Enter}');
  expect(onChange).toHaveBeenCalledWith({ ...TS, metric: 'latency_p95' });
  expect(onRunQuery).toHaveBeenCalled();
});

test('picking a metric with the mouse', async () => {
  const { onChange } = await renderEditor(TS);
  await userEvent.click(screen.getByRole('combobox', { name: 'Metric' }));
  await userEvent.click(await screen.findByRole('option', { name: 'Call volume' }));
  expect(onChange).toHaveBeenCalledWith({ ...TS, metric: 'volume' });
});

test('group by: Action sets it, None removes it', async () => {
  const { onChange } = await renderEditor(TS);
  await userEvent.click(screen.getByRole('radio', { name: 'Action' }));
  expect(onChange).toHaveBeenLastCalledWith({ ...TS, groupBy: 'action' });
  await userEvent.click(screen.getByRole('radio', { name: 'None' }));
  expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'timeseries', metric: 'failure_rate' });
});

test('services menu lists the API catalog and the dashboard variables; picking one sends a list', async () => {
  const { onChange } = await renderEditor(TS);
  await userEvent.click(screen.getByRole('combobox', { name: 'Services' }));
  const names = (await screen.findAllByRole('option')).map((o) => o.textContent);
  expect(names).toEqual(expect.arrayContaining(['$service', 'amocrm', 'resend', 'telegram']));
  await userEvent.click(screen.getByRole('option', { name: 'telegram' }));
  expect(onChange).toHaveBeenLastCalledWith({ ...TS, services: ['telegram'] });
});

test('actions menu follows the chosen services', async () => {
  await renderEditor({ ...TS, services: ['resend'] });
  await userEvent.click(screen.getByRole('combobox', { name: 'Actions' }));
  const names = (await screen.findAllByRole('option')).map((o) => o.textContent);
  expect(names).toEqual(expect.arrayContaining(['send_batch', 'send_email']));
  expect(names).not.toContain('sync_lead');
});

test('switching the query type starts a fresh query of that type', async () => {
  const { onChange, onRunQuery } = await renderEditor(TS);
  await userEvent.click(screen.getByRole('radio', { name: 'Failures' }));
  expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'failures', limit: 100 });
  expect(onRunQuery).toHaveBeenCalledTimes(1);
});

test('failures limit: sent on change, run on blur, clamped to 1000', async () => {
  const q: IntmonQuery = { refId: 'F', queryType: 'failures', limit: 100 };
  const { onChange, onRunQuery } = await renderEditor(q);
  const limit = screen.getByRole('spinbutton');
  fireEvent.change(limit, { target: { value: '25' } });
  expect(onChange).toHaveBeenLastCalledWith({ ...q, limit: 25 });
  expect(onRunQuery).not.toHaveBeenCalled();
  fireEvent.change(limit, { target: { value: '5000' } });
  expect(onChange).toHaveBeenLastCalledWith({ ...q, limit: 1000 });
  fireEvent.blur(limit);
  expect(onRunQuery).toHaveBeenCalledTimes(1);
});

test('health window', async () => {
  const q: IntmonQuery = { refId: 'H', queryType: 'health' };
  const { onChange } = await renderEditor(q);
  fireEvent.change(screen.getByPlaceholderText('time range'), { target: { value: '7d' } });
  expect(onChange).toHaveBeenLastCalledWith({ ...q, window: '7d' });
});

test('logs: says what is missing, entity id is sent', async () => {
  const q: IntmonQuery = { refId: 'L', queryType: 'logs', limit: 100 };
  const { onChange } = await renderEditor(q);
  expect(screen.getByText('Choose an entity or a service')).toBeInTheDocument();
  fireEvent.change(screen.getByPlaceholderText('uuid or $variable'), { target: { value: '$lead' } });
  expect(onChange).toHaveBeenLastCalledWith({ ...q, entityId: '$lead' });
});

test('an older saved shape is shown migrated and saved once through onChange', async () => {
  const legacy = { refId: 'A', queryType: 'latency_p99', service: 'resend' };
  const { onChange } = await renderEditor(legacy);
  expect(onChange).toHaveBeenCalledTimes(1);
  expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'timeseries', metric: 'latency_p99', services: ['resend'] });
  expect(screen.getByRole('combobox', { name: 'Metric' })).toHaveValue('Latency p99');
});

test('a current query is not re-saved on mount, whatever its key order', async () => {
  const { onChange } = await renderEditor(TS);
  expect(onChange).not.toHaveBeenCalled();
  const reordered = { datasource: { uid: 'intmon' }, groupBy: 'service', metric: 'failure_rate', queryType: 'timeseries', refId: 'B', key: 'Q-1' };
  const again = await renderEditor(reordered);
  expect(again.onChange).not.toHaveBeenCalled();
});

describe('VariableQueryEditor', () => {
  test('services → actions of chosen services', async () => {
    const onChange = jest.fn();
    const q = deepFreeze<VariableQuery>({ refId: 'v', kind: 'services' });
    const { rerender } = render(<VariableQueryEditor query={q} datasource={ds} onChange={onChange} onRunQuery={() => {}} />);
    await act(async () => {});
    await userEvent.click(screen.getByRole('radio', { name: 'Actions' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'v', kind: 'actions' });
    const q2 = deepFreeze<VariableQuery>({ refId: 'v', kind: 'actions' });
    rerender(<VariableQueryEditor query={q2} datasource={ds} onChange={onChange} onRunQuery={() => {}} />);
    await userEvent.click(screen.getByRole('combobox', { name: 'Of services' }));
    await userEvent.click(await screen.findByRole('option', { name: '$service' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'v', kind: 'actions', services: ['$service'] });
    await waitFor(() => expect(screen.getByRole('radio', { name: 'Actions' })).toBeChecked());
  });
});
