/** Older saved query shapes become the current union; current queries pass through unchanged. */
import { migrateQuery } from '../../src/plugin/migrate';
import { DEFAULT_QUERY, IntmonQuery } from '../../src/plugin/types';

const cases: Array<[string, Record<string, unknown>, IntmonQuery]> = [
  ['empty query → default', { refId: 'A' }, { refId: 'A', ...DEFAULT_QUERY }],
  [
    '0.x metric-as-queryType',
    { refId: 'A', queryType: 'latency_p95', service: 'resend, telegram', group_by: 'action' },
    { refId: 'A', queryType: 'timeseries', metric: 'latency_p95', groupBy: 'action', services: ['resend', 'telegram'] },
  ],
  [
    'no queryType but a metric',
    { refId: 'B', metric: 'volume', status: 'failed,bogus', action: 'send_email' },
    { refId: 'B', queryType: 'timeseries', metric: 'volume', actions: ['send_email'], statuses: ['failed'] },
  ],
  [
    'failures with string limit and snake_case entity',
    { refId: 'C', queryType: 'failures', limit: '25', entity_type: 'lead', entity_id: 'x' },
    { refId: 'C', queryType: 'failures', limit: 25, entityType: 'lead', entityId: 'x' },
  ],
  ['failures with a bad limit gets the default', { refId: 'C', queryType: 'failures', limit: 'many' }, { refId: 'C', queryType: 'failures', limit: 100 }],
  [
    'logs keeps hide and datasource',
    { refId: 'D', queryType: 'logs', hide: true, datasource: { uid: 'u' }, entityId: 'e' },
    { refId: 'D', queryType: 'logs', hide: true, datasource: { uid: 'u' }, entityId: 'e', limit: 100 },
  ],
  ['health', { refId: 'E', queryType: 'health', window: '7d' }, { refId: 'E', queryType: 'health', window: '7d' }],
];

test.each(cases)('%s', (_name, input, expected) => {
  expect(migrateQuery(input)).toEqual(expected);
});

test('a current query is returned equal (so the editor does not re-save it)', () => {
  const q: IntmonQuery = { refId: 'A', queryType: 'timeseries', metric: 'failure_rate', groupBy: 'service', services: ['$service'], statuses: ['failed'], interval: '5m' };
  expect(migrateQuery(q)).toEqual(q);
  expect(JSON.stringify(migrateQuery(q))).toBe(JSON.stringify(q));
});

test('keys Grafana keeps on queries survive; 0.x names do not', () => {
  expect(migrateQuery({ key: 'Q-1', refId: 'A', datasource: { uid: 'u' }, queryType: 'failures', limit: 5, service: 'resend' })).toEqual({
    key: 'Q-1',
    refId: 'A',
    datasource: { uid: 'u' },
    queryType: 'failures',
    limit: 5,
    services: ['resend'],
  });
});

test('input is not mutated', () => {
  const input = Object.freeze({ refId: 'A', queryType: 'failure_rate', service: 'resend' });
  expect(() => migrateQuery(input)).not.toThrow();
  expect(input).toEqual({ refId: 'A', queryType: 'failure_rate', service: 'resend' });
});
