"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.COLUMNS = void 0;
exports.encodeRow = encodeRow;
exports.rowBytes = rowBytes;
/** Column order of every COPY line — exactly the seed's columns. */
exports.COLUMNS = [
    'id',
    'service_name',
    'action',
    'status',
    'related_entity_type',
    'related_entity_id',
    'request_payload',
    'response_payload',
    'error_message',
    'error_code',
    'duration_ms',
    'retry_count',
    'created_at',
    'updated_at',
];
const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_G = /[\\\n\r\t]/g;
const ESC = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
function text(v) {
    if (v === null)
        return '\\N';
    if (v.length < 2)
        return v === '\\' ? '\\\\' : v === '\n' ? '\\n' : v === '\r' ? '\\r' : v === '\t' ? '\\t' : v;
    return SPECIAL.test(v) ? v.replace(SPECIAL_G, (c) => ESC[c]) : v;
}
function int(v) {
    return v === null || !Number.isFinite(v) ? '\\N' : String(Math.round(v));
}
// Rows come in bursts within the same millisecond: format each distinct timestamp once.
let lastMs = NaN;
let lastIso = '';
function iso(ms) {
    if (ms !== lastMs) {
        lastMs = ms;
        lastIso = new Date(ms).toISOString();
    }
    return lastIso;
}
/** One row → one COPY line including the trailing newline. */
function encodeRow(r) {
    return (text(r.id) + '\t' +
        text(r.service_name) + '\t' +
        text(r.action) + '\t' +
        r.status + '\t' +
        text(r.related_entity_type) + '\t' +
        text(r.related_entity_id) + '\t' +
        text(r.request_payload) + '\t' +
        text(r.response_payload) + '\t' +
        text(r.error_message) + '\t' +
        text(r.error_code) + '\t' +
        int(r.duration_ms) + '\t' +
        int(r.retry_count) + '\t' +
        iso(r.created_at) + '\t' +
        iso(r.updated_at) + '\n');
}
/** Rough in-memory size of a queued row, for the memory bound (JS strings are UTF-16). */
function rowBytes(r) {
    return (320 +
        2 * (r.service_name.length + r.action.length +
            (r.request_payload?.length ?? 0) + (r.response_payload?.length ?? 0) +
            (r.error_message?.length ?? 0) + (r.error_code?.length ?? 0) + (r.related_entity_type?.length ?? 0)));
}
//# sourceMappingURL=copy-format.js.map