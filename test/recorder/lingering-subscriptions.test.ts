/**
 * lingeringSubscriptions: on while held, and for lingerMs after the last release (instrumentHttp's
 * response channels: subscribed per busy period, not per request).
 */
import dc from 'node:diagnostics_channel';
import { lingeringSubscriptions } from '../../src/recorder/lingering-subscriptions';

const NAME = 'test.lingering.subscriptions';
const on = () => dc.channel(NAME).hasSubscribers;

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('subscribed from the first hold until lingerMs after the last release', () => {
  const got: unknown[] = [];
  const subs = lingeringSubscriptions([[NAME, (m) => got.push(m)]], 1000);
  expect(on()).toBe(false);
  subs.hold();
  subs.hold();
  expect(on()).toBe(true);
  dc.channel(NAME).publish('one');
  subs.release();
  jest.advanceTimersByTime(5000);
  expect(on()).toBe(true); // still held once
  subs.release();
  jest.advanceTimersByTime(999);
  expect(on()).toBe(true);
  jest.advanceTimersByTime(1);
  expect(on()).toBe(false);
  dc.channel(NAME).publish('unseen');
  expect(got).toEqual(['one']);
});

test('a hold and release during the linger restart it from that release', () => {
  const subs = lingeringSubscriptions([[NAME, () => undefined]], 1000);
  subs.hold();
  subs.release();
  jest.advanceTimersByTime(600);
  subs.hold();
  subs.release();
  jest.advanceTimersByTime(600); // 1,200 ms after the first release, 600 after the last
  expect(on()).toBe(true);
  jest.advanceTimersByTime(400);
  expect(on()).toBe(false);
  subs.hold(); // and subscribes again
  expect(on()).toBe(true);
  subs.close();
});

test('close unsubscribes at once, held or not, and its timer never fires later', () => {
  const subs = lingeringSubscriptions([[NAME, () => undefined]], 1000);
  subs.hold();
  subs.close();
  expect(on()).toBe(false);
  subs.hold();
  subs.release();
  subs.close();
  expect(jest.getTimerCount()).toBe(0);
  expect(on()).toBe(false);
});

test('more releases than holds never go below nothing held', () => {
  const subs = lingeringSubscriptions([[NAME, () => undefined]], 1000);
  subs.release();
  subs.hold();
  jest.advanceTimersByTime(5000);
  expect(on()).toBe(true);
  subs.close();
});
