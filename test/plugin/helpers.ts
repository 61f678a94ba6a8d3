/**
 * Test doubles for the two Grafana services the plugin calls, both installed through
 * @grafana/runtime's own setters:
 * - a BackendSrv whose `fetch` answers from the recorded API responses in fixtures/ (recorded from
 *   the real API by test/browser/api-fixtures.test.ts) and remembers every URL it was asked for;
 * - the TemplateSrv stand-in of test/helpers/template-srv.ts (Grafana's template_srv.ts rules).
 */
import * as fs from 'fs';
import * as path from 'path';

import { DataQueryRequest, dateTime, TimeRange } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchError, FetchResponse, setBackendSrv, setTemplateSrv, TemplateSrv } from '@grafana/runtime';
import { Observable, of, throwError } from 'rxjs';

import { API_PREFIX } from '../../src/contract';
import { GrafanaTemplateSrv } from '../helpers/template-srv';

export interface Fixture<T = unknown> {
  request: string;
  status: number;
  body: T;
}

export function fixture<T = unknown>(name: string): Fixture<T> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8'));
}

export const INSTANCE_URL = '/api/datasources/proxy/uid/intmon';
export const API_BASE = `${INSTANCE_URL}/api${API_PREFIX}`;

type Answer = { status: number; body: unknown; statusText?: string };
type Responder = (url: URL) => Answer | undefined;

export class FixtureBackend {
  readonly requests: BackendSrvRequest[] = [];
  private responders: Responder[] = [];

  /** Answers `path` (below the API prefix, query string ignored unless given) with a fixture. */
  on(pathWithQuery: string, answer: Answer | Fixture): this {
    const wanted = new URL(pathWithQuery, 'http://x');
    this.responders.unshift((url) => {
      const p = url.pathname.startsWith(`${INSTANCE_URL}/api`) ? url.pathname.slice(`${INSTANCE_URL}/api`.length) : url.pathname;
      const rel = p.startsWith(API_PREFIX) ? p.slice(API_PREFIX.length) : p;
      if (rel !== wanted.pathname) {
        return undefined;
      }
      const sorted = (p: URLSearchParams) =>
        [...p.entries()]
          .map(([k, v]) => `${k}=${v}`)
          .sort()
          .join('&');
      if (wanted.search && sorted(wanted.searchParams) !== sorted(url.searchParams)) {
        return undefined;
      }
      return 'request' in answer ? { status: answer.status, body: answer.body } : answer;
    });
    return this;
  }

  /** Every request's URL (decoded), in order. */
  get urls(): string[] {
    return this.requests.map((r) => decodeURIComponent(r.url));
  }

  fetch = <T>(options: BackendSrvRequest): Observable<FetchResponse<T>> => {
    this.requests.push(options);
    const url = new URL(options.url, 'http://grafana.local');
    const answer = this.responders.map((r) => r(url)).find(Boolean) ?? { status: 502, body: { message: 'Bad Gateway' }, statusText: 'Bad Gateway' };
    if (answer.status >= 200 && answer.status < 300) {
      return of({
        data: answer.body as T,
        status: answer.status,
        statusText: 'OK',
        ok: true,
        headers: new Headers(),
        redirected: false,
        type: 'basic',
        url: options.url,
        config: options,
      });
    }
    const err: FetchError = { status: answer.status, statusText: answer.statusText, data: answer.body, config: options };
    return throwError(() => err);
  };

  install(): this {
    setBackendSrv({ fetch: this.fetch } as unknown as BackendSrv);
    return this;
  }
}

export type { TestVariable } from '../helpers/template-srv';

/** The shared template-service stand-in (test/helpers/template-srv.ts), installed through @grafana/runtime. */
export class TestTemplateSrv extends GrafanaTemplateSrv {
  install(): this {
    setTemplateSrv(this as unknown as TemplateSrv);
    return this;
  }
}

export function timeRange(from: string, to: string): TimeRange {
  const f = dateTime(from);
  const t = dateTime(to);
  return { from: f, to: t, raw: { from: f, to: t } };
}

export function request<Q extends { refId: string }>(targets: Q[], o: Partial<DataQueryRequest<Q>> = {}): DataQueryRequest<Q> {
  return {
    requestId: 'q1',
    interval: '1h',
    intervalMs: 3_600_000,
    range: timeRange('2026-11-20T00:00:00.000Z', '2026-11-20T04:00:00.000Z'),
    scopedVars: {},
    targets,
    timezone: 'utc',
    app: 'dashboard',
    startTime: 0,
    ...o,
  } as DataQueryRequest<Q>;
}
