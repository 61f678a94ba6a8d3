/**
 * Truth table of template-variable interpolation: what reaches the API for each kind of value.
 * `undefined` means the parameter is left out (no filter).
 */
import { interpolateList, interpolateScalar } from '../../src/plugin/interpolation';
import { getTemplateSrv } from '@grafana/runtime';

import { TestTemplateSrv } from './helpers';

beforeAll(() => {
  new TestTemplateSrv([
    { name: 'single', current: 'resend', options: ['amocrm', 'resend'] },
    { name: 'multi', current: ['resend', 'telegram'], options: ['amocrm', 'resend', 'telegram'] },
    { name: 'all', current: ['$__all'], options: ['amocrm', 'resend', 'telegram'] },
    { name: 'allStar', current: ['$__all'], options: ['amocrm', 'resend'], allValue: '*' },
    { name: 'allRegex', current: ['$__all'], options: ['amocrm', 'resend'], allValue: '.*' },
    { name: 'allCustom', current: ['$__all'], options: ['amocrm', 'resend'], allValue: 'whapi' },
    { name: 'allPercent', current: '$__all', options: ['amocrm'], allValue: '%' },
    { name: 'allEmptyOptions', current: '$__all', options: [] },
    { name: 'none', current: [], options: ['amocrm'] },
  ]).install();
});

test('the test template service hands a custom all value back raw, never to the format function (as Grafana)', () => {
  const format = jest.fn(() => 'formatted');
  expect(getTemplateSrv().replace('$allStar', {}, format)).toBe('*');
  expect(format).not.toHaveBeenCalled();
  expect(getTemplateSrv().replace('$all', {}, format)).toBe('formatted');
  expect(format).toHaveBeenCalledWith(['amocrm', 'resend', 'telegram'], expect.anything());
  expect(getTemplateSrv().replace('$allEmptyOptions', {}, (v: unknown) => JSON.stringify(v))).toBe('[]');
});

describe.each<[string, string[] | undefined, string[] | undefined]>([
  ['nothing chosen', undefined, undefined],
  ['empty list', [], undefined],
  ['a literal', ['amocrm'], ['amocrm']],
  ['literals, trimmed and de-duplicated', [' amocrm ', 'amocrm', 'resend'], ['amocrm', 'resend']],
  ['a single-value variable', ['$single'], ['resend']],
  ['${braced} and [[legacy]] syntax', ['${single}', '[[multi]]'], ['resend', 'telegram']],
  ['a multi-value variable → repeated', ['$multi'], ['resend', 'telegram']],
  ['a variable plus a literal', ['$multi', 'amocrm'], ['resend', 'telegram', 'amocrm']],
  ['All without custom value → every option', ['$all'], ['amocrm', 'resend', 'telegram']],
  ['All with custom value * → no filter', ['$allStar'], undefined],
  ['All with custom value .* → no filter', ['$allRegex'], undefined],
  ['All with wildcard beside a literal → still no filter', ['amocrm', '$allStar'], undefined],
  ['All with a non-wildcard custom value → that value', ['$allCustom'], ['whapi']],
  ['All with custom value % → no filter', ['$allPercent'], undefined],
  ['All of a variable with no options → no filter', ['$allEmptyOptions'], undefined],
  ['a variable with nothing selected', ['$none'], undefined],
  ['an unknown variable stays literal (the API will name it in its 400)', ['$nope'], ['$nope']],
])('%s', (_name, input, expected) => {
  test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
    expect(interpolateList(input)).toEqual(expected);
  });
});

test('scoped vars override the dashboard value (repeated panels / rows)', () => {
  expect(interpolateList(['$multi'], { multi: { text: 'amocrm', value: 'amocrm' } })).toEqual(['amocrm']);
  expect(interpolateList(['$multi'], { multi: { text: 'x', value: ['a', 'b'] } })).toEqual(['a', 'b']);
});

test('scalars take the first value; wildcard All and empty mean unset', () => {
  expect(interpolateScalar('$single')).toBe('resend');
  expect(interpolateScalar('$multi')).toBe('resend');
  expect(interpolateScalar('lead')).toBe('lead');
  expect(interpolateScalar('$allStar')).toBeUndefined();
  expect(interpolateScalar('$allPercent')).toBeUndefined();
  expect(interpolateScalar('  ')).toBeUndefined();
  expect(interpolateScalar(undefined)).toBeUndefined();
});
