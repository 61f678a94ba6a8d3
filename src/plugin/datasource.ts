/**
 * The Integration Monitor data source. Every request goes through Grafana's data proxy route
 * (`<instance url>/api/...`, see plugin.json), which adds the bearer token server-side, so the
 * token never reaches the browser.
 */
import { CoreApp, DataFrame, DataQueryError, DataQueryRequest, DataQueryResponse, DataSourceApi, DataSourceInstanceSettings, MetricFindValue, ScopedVars, TestDataSourceResponse } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';
// Operators from 'rxjs' itself: only the exact 'rxjs' request is external (shared by Grafana).
import { catchError, firstValueFrom, forkJoin, map, Observable, of, throwError } from 'rxjs';

import type { HealthResponse, LogPage, ServicesResponse, TimeseriesResponse } from '../contract';
import { annotationSupport } from './annotations';
import { ApiError, isUnreachable, toApiError } from './errors';
import { failuresFrame, healthFrame, logsFrame, timeseriesFrames } from './frames';
import { interpolateQuery, interpolateVariableQuery } from './interpolation';
import { migrateQuery } from './migrate';
import { apiTimeZone, toApiRequest } from './params';
import { API_PREFIX, DEFAULT_QUERY, HEALTHZ_PATH, IntmonOptions, IntmonQuery, isComplete, VariableQuery } from './types';
import { IntmonVariableSupport } from './variables';

export type ServiceCatalog = ServicesResponse['services'];

/** `services`, `actions`, `actions(resend,$service)`: the string form older dashboards may hold. */
function parseVariableQuery(query: VariableQuery | string | undefined): VariableQuery {
  if (query && typeof query === 'object') {
    return { ...query, kind: query.kind === 'actions' ? 'actions' : 'services' };
  }
  const text = (query ?? '').trim();
  const m = /^actions\s*(?:\((.*)\))?$/i.exec(text);
  if (m) {
    const services = (m[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { refId: 'variable', kind: 'actions', ...(services.length ? { services } : {}) };
  }
  return { refId: 'variable', kind: 'services' };
}

export class DataSource extends DataSourceApi<IntmonQuery, IntmonOptions> {
  readonly baseUrl: string;
  readonly apiUrl: string | undefined;

  constructor(instanceSettings: DataSourceInstanceSettings<IntmonOptions>) {
    super(instanceSettings);
    // `api` is the route path in plugin.json; Grafana's proxy maps it to jsonData.apiUrl.
    this.baseUrl = `${instanceSettings.url ?? ''}/api`;
    this.apiUrl = instanceSettings.jsonData?.apiUrl;
    this.annotations = annotationSupport;
    this.variables = new IntmonVariableSupport(this);
  }

  override getDefaultQuery(_app: CoreApp): Partial<IntmonQuery> {
    return DEFAULT_QUERY;
  }

  /**
   * Hidden and incomplete queries are not sent. Judged on the interpolated query: a `$entity_type`
   * whose text box is empty is no filter, even though the literal looks like one.
   */
  override filterQuery(query: IntmonQuery): boolean {
    return !query.hide && isComplete(interpolateQuery(migrateQuery(query)));
  }

  override interpolateVariablesInQueries(queries: IntmonQuery[], scopedVars: ScopedVars): IntmonQuery[] {
    return queries.map((q) => interpolateQuery(migrateQuery(q), scopedVars));
  }

  /** GET below the API prefix (or at `absolutePath` for /healthz), unwrapped to the body. */
  fetchJson<T>(path: string, params?: URLSearchParams, requestId?: string, absolutePath = false): Observable<T> {
    const qs = params?.toString();
    const url = `${this.baseUrl}${absolutePath ? '' : API_PREFIX}${path}${qs ? `?${qs}` : ''}`;
    return getBackendSrv()
      .fetch<T>({ url, method: 'GET', requestId, showErrorAlert: false, showSuccessAlert: false })
      .pipe(
        map((r) => r.data),
        catchError((err) => throwError(() => toApiError(err))),
      );
  }

  query(request: DataQueryRequest<IntmonQuery>): Observable<DataQueryResponse> {
    // Interpolate first, then judge: filtering the raw query would let `$entity_type` through.
    const targets = request.targets
      .filter((t) => !t.hide)
      .map((t) => interpolateQuery(migrateQuery(t), request.scopedVars))
      .filter(isComplete);
    if (targets.length === 0) {
      return of({ data: [] });
    }
    const timeZone = apiTimeZone(request.timezone);
    const runs = targets.map((q) => {
      const { path, params } = toApiRequest(q, request.range, request.intervalMs, timeZone);
      const requestId = `${request.requestId}_${q.refId}`;
      return this.fetchJson<unknown>(path, params, requestId).pipe(
        map((body): { frames: DataFrame[]; error?: DataQueryError } => ({ frames: this.toFrames(q, body) })),
        catchError((err: ApiError) => of({ frames: [] as DataFrame[], error: { refId: q.refId, message: err.message, status: err.status } })),
      );
    });
    return forkJoin(runs).pipe(
      map((results) => {
        const errors = results.flatMap((r) => (r.error ? [r.error] : []));
        return { data: results.flatMap((r) => r.frames), ...(errors.length ? { errors, error: errors[0] } : {}) };
      }),
    );
  }

  private toFrames(q: IntmonQuery, body: unknown): DataFrame[] {
    switch (q.queryType) {
      case 'timeseries':
        return timeseriesFrames(body as TimeseriesResponse, q.refId);
      case 'health':
        return [healthFrame(body as HealthResponse, q.refId)];
      case 'failures':
        return [failuresFrame(body as LogPage, q.refId)];
      case 'logs':
        return [logsFrame(body as LogPage, q.refId)];
    }
  }

  /** Services with their actions, for editors and variables. */
  async getServiceCatalog(): Promise<ServiceCatalog> {
    const res = await firstValueFrom(this.fetchJson<ServicesResponse>('/services'));
    return res.services;
  }

  override async metricFindQuery(query: VariableQuery | string, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const vq = interpolateVariableQuery(parseVariableQuery(query), options?.scopedVars);
    const catalog = await this.getServiceCatalog();
    const names = vq.kind === 'services' ? catalog.map((s) => s.service_name) : catalog.filter((s) => !vq.services || vq.services.includes(s.service_name)).flatMap((s) => s.actions);
    return [...new Set(names)].sort().map((text) => ({ text, value: text }));
  }

  /** Liveness first (is the URL right?), then an authenticated endpoint (is the token right?). */
  async testDatasource(): Promise<TestDataSourceResponse> {
    if (!this.apiUrl) {
      return { status: 'error', message: 'The API URL is not set. Enter the Integration Monitor API base URL, e.g. http://localhost:3100.' };
    }
    try {
      await firstValueFrom(this.fetchJson<unknown>(HEALTHZ_PATH, undefined, undefined, true));
    } catch (e) {
      const err = toApiError(e);
      const why = isUnreachable(err.status) ? 'nothing answered there' : `it answered ${err.status} on ${HEALTHZ_PATH}`;
      return {
        status: 'error',
        message: `The API URL looks wrong: cannot reach the Integration Monitor API at ${this.apiUrl} (${why}). Check the API URL.`,
      };
    }
    try {
      const services = await this.getServiceCatalog();
      const names = services.map((s) => s.service_name);
      return {
        status: 'success',
        message: `Connected to ${this.apiUrl}: URL and token are fine; ${names.length} service(s) recorded${names.length ? ` (${names.join(', ')})` : ''}.`,
      };
    } catch (e) {
      const err = toApiError(e);
      if (err.status === 401) {
        return { status: 'error', message: `The API token is wrong: the API at ${this.apiUrl} is reachable but rejected the token (401). Paste a valid token.` };
      }
      if (err.status === 403) {
        return {
          status: 'error',
          message: `The API token is valid but its role may not read monitoring data (403). Use a token for the authenticated or service_role role.`,
        };
      }
      if (err.status === 404) {
        return {
          status: 'error',
          message: `The API URL looks wrong: ${this.apiUrl} answers ${HEALTHZ_PATH} but has no monitoring endpoints (404). Use the API server's base URL.`,
        };
      }
      return { status: 'error', message: err.message };
    }
  }
}
