/**
 * The plugin repeats a few of the contract's runtime lists (so no schema code reaches its bundle);
 * they must stay equal. The recorded fixtures must match the contract's response schemas.
 */
import * as fs from 'fs';
import * as path from 'path';

import { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

import * as contract from '../../src/contract';
import * as types from '../../src/plugin/types';

test('runtime lists equal the contract', () => {
  expect(types.API_PREFIX).toBe(contract.API_PREFIX);
  expect([...types.METRICS]).toEqual([...contract.METRICS]);
  expect([...types.GROUP_BY]).toEqual([...contract.GROUP_BY]);
  expect([...types.STATUSES]).toEqual([...contract.STATUSES]);
});

const SCHEMA_BY_PREFIX: Array<[string, TSchema]> = [
  ['services', contract.ServicesResponse],
  ['timeseries-', contract.TimeseriesResponse],
  ['health', contract.HealthResponse],
  ['failures', contract.LogPage],
  ['logs-', contract.LogPage],
  ['error-', contract.ErrorBody],
];

const dir = path.join(__dirname, 'fixtures');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));

test('there are fixtures for every response kind', () => {
  for (const [prefix] of SCHEMA_BY_PREFIX) {
    expect(files.some((f) => f.startsWith(prefix))).toBe(true);
  }
});

test.each(files)('%s matches the contract', (file) => {
  const fx = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const entry = SCHEMA_BY_PREFIX.find(([prefix]) => file.startsWith(prefix));
  expect(entry).toBeDefined();
  const errors = [...Value.Errors(entry![1], fx.body)].map((e) => `${e.path}: ${e.message}`);
  expect(errors).toEqual([]);
  expect(fx.status >= 400).toBe(file.startsWith('error-'));
});
