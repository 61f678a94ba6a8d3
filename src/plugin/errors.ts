/**
 * Errors from the API (or from Grafana's data proxy in front of it) as sentences a person can act
 * on: a 401 means the token, a 502/504 or a network failure means the URL.
 */
import { isFetchError } from '@grafana/runtime';

import type { ErrorBody } from '../contract';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function bodyText(data: unknown): { error?: string; field?: string } {
  if (data && typeof data === 'object') {
    const b = data as Partial<ErrorBody> & { message?: unknown };
    if (typeof b.error === 'string') {
      return { error: b.error, field: typeof b.field === 'string' ? b.field : undefined };
    }
    if (typeof b.message === 'string') {
      return { error: b.message };
    }
  }
  return typeof data === 'string' && data.trim() !== '' && data.length < 300 ? { error: data.trim() } : {};
}

/**
 * Grafana's data proxy (pkg/api/pluginproxy/ds_proxy.go, ModifyResponse) replaces an upstream 401
 * with a 400 whose plain-text body is this sentence, so the API's own 401 never reaches the browser.
 */
const PROXY_AUTH_FAILED = 'Authentication to data source failed';

/** True when the status says the request never reached a working API (proxy/network trouble). */
export function isUnreachable(status: number | undefined): boolean {
  return status === undefined || status === 0 || status === 502 || status === 503 || status === 504;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) {
    return err;
  }
  if (!isFetchError(err)) {
    return new ApiError(err instanceof Error ? err.message : String(err), undefined);
  }
  const { error, field } = bodyText(err.data);
  const detail = error ?? err.statusText ?? err.message ?? 'no details';
  const status = err.status;
  if (isUnreachable(status)) {
    return new ApiError(`Cannot reach the Integration Monitor API (${status || 'network error'}: ${detail}). Check the API URL in the data source settings.`, status);
  }
  if (status === 400 && !field && error?.trim() === PROXY_AUTH_FAILED) {
    // Reported as the API's own status (401): the proxy's 400 is not a bad query.
    return new ApiError(`The API rejected the token (Grafana's data proxy: "${PROXY_AUTH_FAILED}"). Check the API token in the data source settings.`, 401);
  }
  if (status === 401) {
    return new ApiError(`The API rejected the token (401: ${detail}). Check the API token in the data source settings.`, status);
  }
  if (status === 403) {
    return new ApiError(`The token's role may not read monitoring data (403: ${detail}). Use a token for the authenticated or service_role role.`, status);
  }
  if (status === 404) {
    return new ApiError(`The API has no such endpoint (404: ${detail}). Check that the API URL is the server's base URL, e.g. http://host:3100.`, status);
  }
  if (status === 400) {
    return new ApiError(field ? `Invalid query: ${detail} (parameter "${field}")` : `Invalid query: ${detail}`, status, field);
  }
  return new ApiError(`Integration Monitor API error ${status}: ${detail}`, status, field);
}
