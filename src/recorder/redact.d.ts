/**
 * Redaction, applied before anything is queued — a secret never reaches memory queues, the spool
 * file or the database. What is removed:
 *  - headers: Authorization, Proxy-Authorization, Cookie, Set-Cookie, and any name containing
 *    api-key / apikey / token / secret / password / session;
 *  - the Telegram bot token in URL paths (`/bot<token>/`), and bot-token-shaped strings anywhere;
 *  - query parameters apiKey / api_key / key / token / access_token / secret / password / signature;
 *  - Resend keys (`re_…`) and `Bearer …` credentials anywhere in any string;
 *  - values of JSON keys named like password, token, secret, api_key/apiKey, authorization, cookie;
 *  - with `maskPii`: e-mail addresses and phone numbers.
 */
export interface RedactOptions {
    maskPii: boolean;
    maxPayloadBytes: number;
}
export declare const REDACTED = "[REDACTED]";
/** Removes credentials (and PII when asked) from free text. */
export declare function redactString(s: string, maskPii?: boolean): string;
export declare function maskPiiString(s: string): string;
/** Redacts a URL: bot token in the path, secret query parameters, user:password. */
export declare function redactUrl(raw: string, maskPii?: boolean): string;
export declare function redactHeaders(headers: Iterable<[string, string]> | Record<string, string>, maskPii?: boolean): Record<string, string>;
/** Deep copy of a JSON-like value with secrets removed. Cycles and exotic objects are flattened. */
export declare function redactValue(value: unknown, maskPii?: boolean, depth?: number, seen?: WeakSet<object>): unknown;
/**
 * Redacted JSON text for a payload column, or null. Over `maxPayloadBytes` the JSON is replaced
 * by a valid JSON marker object carrying a prefix of the text, so the column stays queryable jsonb.
 */
export declare function payloadJson(value: unknown, opts: RedactOptions): string | null;
/** Error messages are free text: redacted, and capped so one huge message cannot bloat a row. */
export declare function redactMessage(message: string | null | undefined, maskPii: boolean, maxChars?: number): string | null;
