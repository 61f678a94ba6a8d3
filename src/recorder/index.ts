/** The recorder SDK: createRecorder, instrumentFetch and their types. */
export { createRecorder } from './recorder';
export { instrumentFetch } from './instrument-fetch';
export type { InstrumentFetchOptions, IntegrationInit, MonitoredFetch } from './instrument-fetch';
export { actionFor, judgeHttp, PROVIDERS, serviceForHost } from './providers';
export type { ProviderName } from './providers';
export { maskPiiString, redactHeaders, redactString, redactUrl, redactValue, REDACTED } from './redact';
export type { RedactOptions } from './redact';
export type { AttemptContext, LogRow, LogStatus, Outcome, Recorder, RecorderOptions, RecorderStats, RetryPolicy, TrackOptions, WrapHandlerOptions } from './types';
export { RecorderError } from './report';
export type { ProblemKind } from './report';
export { DEAD_LETTER_FILE } from './dead-letter';
export type { DeadLetter } from './dead-letter';
