"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.createRecorder = createRecorder;
/**
 * createRecorder: the SDK an application uses to log every integration call.
 *
 * The caller's path does only cheap, synchronous work — an id, two clock reads, a row object
 * pushed on an array — and never awaits the database; the recorder's own failures never reach the
 * caller (they go to `onError`). A background loop writes queued rows in batches by COPY, spills
 * to the spool when the database is down or memory is full, and replays the spool when it is back.
 */
const promises_1 = require("node:fs/promises");
const node_path_1 = __importDefault(require("node:path"));
const pg_1 = require("pg");
const clock_1 = require("./clock");
const copy_format_1 = require("./copy-format");
const ids_1 = require("./ids");
const redact_1 = require("./redact");
const retry_1 = require("./retry");
const spool_1 = require("./spool");
const writer_1 = require("./writer");
const OK = { ok: true };
function createRecorder(options = {}) {
    return new RecorderImpl(options);
}
class RecorderImpl {
    redaction;
    flushIntervalMs;
    maxBatchRows;
    maxMemoryBytes;
    pendingAfterMs;
    onError;
    pool;
    ownPool;
    writer;
    spool;
    queue = [];
    queuedBytes = 0;
    inflight = new Set();
    timer;
    draining = null;
    kickScheduled = false;
    closed = false;
    closing = null;
    up = true;
    nextProbeAt = 0;
    probeDelayMs = 100;
    counters = { tracked: 0, written: 0, spooled: 0, replayed: 0, dropped: 0 };
    constructor(o) {
        this.flushIntervalMs = o.flushIntervalMs ?? 200;
        this.maxBatchRows = o.maxBatchRows ?? 5000;
        this.maxMemoryBytes = o.maxMemoryBytes ?? 32 * 1024 * 1024;
        this.pendingAfterMs = o.pendingAfterMs ?? 5000;
        this.redaction = { maskPii: o.maskPii ?? false, maxPayloadBytes: o.maxPayloadBytes ?? 16 * 1024 };
        const report = o.onError;
        this.onError = (e) => {
            try {
                report?.(e);
            }
            catch {
                /* a throwing error handler must not break the writer loop */
            }
        };
        if (o.pool) {
            this.pool = o.pool;
            this.ownPool = false;
        }
        else {
            if (!o.databaseUrl)
                throw new Error('createRecorder: pass databaseUrl or pool');
            this.pool = new pg_1.Pool({ connectionString: o.databaseUrl, max: 2, connectionTimeoutMillis: 5000, application_name: 'integration-monitor recorder' });
            this.pool.on('error', () => undefined); // idle clients die when the server restarts; the next write reconnects
            this.ownPool = true;
        }
        this.writer = new writer_1.PgWriter(this.pool, o.role === undefined ? 'service_role' : o.role);
        this.spool = new spool_1.Spool(node_path_1.default.resolve(o.spoolDir ?? node_path_1.default.join(process.env.MONITOR_DATA_DIR || '.data', 'recorder-spool')));
        this.timer = setInterval(() => this.tick(), this.flushIntervalMs);
        this.timer.unref(); // the recorder alone must not keep a process alive; close() flushes
    }
    // ---------------------------------------------------------------- caller path
    track(service, action, fn, options) {
        let call;
        try {
            call = this.begin(service, action, options);
        }
        catch (e) {
            this.onError(e);
        }
        if (options && (options.retry || options.inspect))
            return this.trackSlow(call, fn, options);
        // Fast path: one attempt, success unless it throws.
        let value;
        try {
            value = fn({ attempt: 1 });
        }
        catch (err) {
            this.finish(call, undefined, this.judgeErr(options, err), err);
            return Promise.reject(err);
        }
        if (isThenable(value)) {
            return Promise.resolve(value).then((v) => {
                this.finish(call, v, OK, undefined, options?.captureResponse);
                return v;
            }, (err) => {
                this.finish(call, undefined, this.judgeErr(options, err), err);
                throw err;
            });
        }
        this.finish(call, value, OK, undefined, options?.captureResponse);
        return Promise.resolve(value);
    }
    /** Retries and/or inspection of returned values (e.g. HTTP responses). */
    async trackSlow(call, fn, options) {
        const policy = (0, retry_1.resolvePolicy)(options.retry);
        for (let attempt = 1;; attempt++) {
            if (call)
                call.attempt = attempt;
            let value;
            try {
                value = await fn({ attempt });
            }
            catch (err) {
                const outcome = this.judgeErr(options, err);
                const delay = (0, retry_1.nextDelay)(policy, attempt, outcome);
                if (delay === null) {
                    this.finish(call, undefined, outcome, err);
                    throw err;
                }
                this.retrying(call, outcome);
                await (0, clock_1.sleep)(delay);
                continue;
            }
            let outcome = OK;
            if (options.inspect) {
                try {
                    outcome = await options.inspect(value);
                }
                catch (e) {
                    this.onError(e);
                }
            }
            const delay = outcome.ok ? null : (0, retry_1.nextDelay)(policy, attempt, outcome);
            if (delay === null) {
                this.finish(call, value, outcome, undefined, options.captureResponse);
                return value;
            }
            this.retrying(call, outcome);
            await (0, clock_1.sleep)(delay);
        }
    }
    judgeErr(options, err) {
        try {
            return options?.inspectError ? options.inspectError(err) : (0, retry_1.judgeError)(err);
        }
        catch (e) {
            this.onError(e);
            return { ok: false, errorMessage: String(err) };
        }
    }
    begin(service, action, options) {
        const createdAt = (0, clock_1.wallMs)();
        let entityType = null;
        let entityId = null;
        let request = null;
        if (options) {
            if (options.entity) {
                entityType = String(options.entity.type);
                // related_entity_id is uuid: anything else would make the whole COPY batch fail.
                entityId = (0, ids_1.isUuid)(options.entity.id) ? options.entity.id : null;
            }
            if (options.request !== undefined)
                request = (0, redact_1.payloadJson)(options.request, this.redaction);
        }
        const call = {
            id: (0, ids_1.uuidv7)(createdAt),
            service: this.cleanName(service),
            action: this.cleanName(action),
            createdAt,
            startMono: (0, clock_1.monotonicMs)(),
            entityType,
            entityId,
            request,
            attempt: 1,
            interim: false,
            lastUpdated: createdAt,
        };
        this.inflight.add(call);
        this.counters.tracked++;
        return call;
    }
    /**
     * Service and action names repeat endlessly; redact each distinct one once (they could carry a
     * token if built from a URL) and cap them. The cache is bounded so that names built from ids
     * cannot grow it without limit.
     */
    names = new Map();
    cleanName(name) {
        const raw = typeof name === 'string' ? name : String(name);
        let clean = this.names.get(raw);
        if (clean === undefined) {
            clean = (0, redact_1.redactString)(raw).slice(0, 200) || 'unknown';
            if (this.names.size < 1000)
                this.names.set(raw, clean);
        }
        return clean;
    }
    /** Final version of the call's row. Never throws. */
    finish(call, value, outcome, _err, capture) {
        if (!call)
            return;
        try {
            this.inflight.delete(call);
            const status = outcome.ok ? 'success' : 'failed';
            let response = null;
            if (capture)
                response = (0, redact_1.payloadJson)(outcome.response !== undefined ? outcome.response : value, this.redaction);
            this.push(call, status, outcome, response);
        }
        catch (e) {
            this.onError(e);
        }
    }
    /** A retry is about to wait: the row says `retrying` until the call ends. */
    retrying(call, outcome) {
        if (!call)
            return;
        try {
            this.push(call, 'retrying', outcome, null);
            call.interim = true;
        }
        catch (e) {
            this.onError(e);
        }
    }
    push(call, status, outcome, response) {
        const interimBefore = call.interim;
        // updated_at must grow between versions even if the wall clock steps back.
        const now = Math.max((0, clock_1.wallMs)(), call.lastUpdated + (interimBefore ? 1 : 0));
        call.lastUpdated = now;
        const ended = status === 'success' || status === 'failed';
        const row = {
            id: call.id,
            service_name: call.service,
            action: call.action,
            status,
            related_entity_type: call.entityType,
            related_entity_id: call.entityId,
            request_payload: call.request,
            response_payload: response,
            error_message: outcome.ok ? null : (0, redact_1.redactMessage)(outcome.errorMessage, this.redaction.maskPii),
            error_code: outcome.ok || outcome.errorCode === undefined || outcome.errorCode === null ? null : (0, redact_1.redactString)(String(outcome.errorCode)).slice(0, 200),
            duration_ms: ended || status === 'retrying' || status === 'pending' ? Math.round((0, clock_1.monotonicMs)() - call.startMono) : null,
            retry_count: status === 'retrying' ? call.attempt : call.attempt - 1,
            created_at: call.createdAt,
            updated_at: now,
        };
        this.enqueue({ row, merge: interimBefore || !ended });
    }
    enqueue(q) {
        if (this.closed) {
            // After close() nothing is left to write it: straight to the spool for the next run.
            this.spillRows([q]);
            return;
        }
        this.queue.push(q);
        this.queuedBytes += (0, copy_format_1.rowBytes)(q.row);
        if (this.queuedBytes > this.maxMemoryBytes)
            this.spillQueue();
        else if (this.queue.length >= this.maxBatchRows && !this.kickScheduled) {
            this.kickScheduled = true;
            setImmediate(() => {
                this.kickScheduled = false;
                this.kick();
            });
        }
    }
    // ---------------------------------------------------------------- background
    tick() {
        try {
            this.sweepPending();
        }
        catch (e) {
            this.onError(e);
        }
        this.kick();
    }
    /** Calls running longer than pendingAfterMs get a `pending` row now, so a crash leaves evidence. */
    sweepPending() {
        const threshold = (0, clock_1.monotonicMs)() - this.pendingAfterMs;
        for (const call of this.inflight) {
            if (call.startMono > threshold)
                break; // insertion order = start order
            if (call.interim)
                continue;
            this.push(call, call.attempt > 1 ? 'retrying' : 'pending', { ok: true }, null);
            call.interim = true;
        }
    }
    kick() {
        if (this.draining)
            return;
        this.draining = this.drain()
            .catch((e) => this.onError(e))
            .finally(() => {
            this.draining = null;
        });
    }
    async drain() {
        for (;;) {
            if (!this.up && (0, clock_1.wallMs)() < this.nextProbeAt) {
                // Still in backoff: keep memory small and rows safe on disk.
                this.spillQueue();
                return;
            }
            if (this.spool.hasData()) {
                if (!(await this.replay())) {
                    this.spillQueue();
                    return;
                }
            }
            if (this.queue.length === 0)
                return;
            const batch = this.take();
            const ok = await this.writeBatch(batch);
            if (!ok) {
                this.spillRows(batch);
                this.spillQueue();
                return;
            }
        }
    }
    take() {
        const batch = this.queue.length <= this.maxBatchRows ? this.queue : this.queue.slice(0, this.maxBatchRows);
        this.queue = this.queue.length <= this.maxBatchRows ? [] : this.queue.slice(this.maxBatchRows);
        let bytes = 0;
        for (const q of this.queue)
            bytes += (0, copy_format_1.rowBytes)(q.row);
        this.queuedBytes = bytes;
        return batch;
    }
    /** Writes one batch; false means "database unavailable" (the caller spools the batch). */
    async writeBatch(batch) {
        let fresh = '';
        let merge = '';
        for (const q of batch) {
            if (q.merge)
                merge += (0, copy_format_1.encodeRow)(q.row);
            else
                fresh += (0, copy_format_1.encodeRow)(q.row);
        }
        try {
            await this.writer.write(fresh, merge);
            this.markUp();
            this.counters.written += batch.length;
            return true;
        }
        catch (err) {
            const kind = (0, writer_1.classifyWriteError)(err);
            if (kind === 'transient') {
                this.markDown(err);
                return false;
            }
            // Duplicate or bad data: the idempotent path, narrowing down to the offending rows.
            return this.writeLines(fresh + merge, batch.length, 'write');
        }
    }
    /**
     * Writes COPY lines by the idempotent path; on a data error splits the set in halves until the
     * bad rows are isolated and dropped (reported, never retried forever). False: database down.
     */
    async writeLines(lines, count, source) {
        try {
            await this.writer.write('', lines);
            this.markUp();
            if (source === 'write')
                this.counters.written += count;
            else
                this.counters.replayed += count;
            return true;
        }
        catch (err) {
            if ((0, writer_1.classifyWriteError)(err) === 'transient') {
                this.markDown(err);
                return false;
            }
            const rows = splitLines(lines);
            if (rows.length <= 1) {
                this.counters.dropped += rows.length;
                this.onError(new Error(`integration-monitor recorder: dropped a row the database rejects: ${err.message}`));
                return true;
            }
            const mid = rows.length >> 1;
            const a = rows.slice(0, mid).join('');
            const b = rows.slice(mid).join('');
            return (await this.writeLines(a, mid, source)) && (await this.writeLines(b, rows.length - mid, source));
        }
    }
    /** Replays spooled segments oldest first. False: the database is (still) down. */
    async replay() {
        this.spool.seal();
        for (let file = this.spool.next(); file; file = this.spool.next()) {
            let text;
            try {
                text = await (0, promises_1.readFile)(file, 'utf8');
            }
            catch (e) {
                if (e.code !== 'ENOENT')
                    this.onError(e);
                this.spool.done(file);
                continue;
            }
            // A process killed mid-append can leave a partial last line: replay only whole lines.
            const lines = splitLines(text).filter((l) => l.endsWith('\n'));
            for (let i = 0; i < lines.length; i += this.maxBatchRows) {
                const chunk = lines.slice(i, i + this.maxBatchRows);
                if (!(await this.writeLines(chunk.join(''), chunk.length, 'replay')))
                    return false;
            }
            this.spool.done(file);
        }
        return true;
    }
    spillQueue() {
        if (this.queue.length === 0)
            return;
        const rows = this.queue;
        this.queue = [];
        this.queuedBytes = 0;
        this.spillRows(rows);
    }
    spillRows(rows) {
        let lines = '';
        for (const q of rows)
            lines += (0, copy_format_1.encodeRow)(q.row);
        try {
            this.spool.append(lines);
            this.counters.spooled += rows.length;
        }
        catch (e) {
            this.counters.dropped += rows.length;
            this.onError(new Error(`integration-monitor recorder: spool write failed, ${rows.length} rows lost: ${e.message}`));
        }
    }
    markDown(err) {
        if (this.up) {
            this.up = false;
            this.probeDelayMs = 100;
            this.onError(new Error(`integration-monitor recorder: database unavailable, spooling to ${this.spool.dir}: ${err.message}`));
        }
        else {
            this.probeDelayMs = Math.min(this.probeDelayMs * 2, 5000);
        }
        // Jitter keeps many recorders from reconnecting in lockstep after an outage.
        this.nextProbeAt = (0, clock_1.wallMs)() + this.probeDelayMs * (0.5 + Math.random() / 2);
    }
    markUp() {
        this.up = true;
        this.probeDelayMs = 100;
    }
    // ---------------------------------------------------------------- public control
    async flush() {
        // Wait for a running drain, then drain again to cover rows queued meanwhile.
        for (let i = 0; i < 2; i++) {
            if (this.draining)
                await this.draining;
            this.nextProbeAt = 0; // an explicit flush tries the database even during backoff
            this.kick();
            await this.draining;
        }
    }
    close() {
        this.closing ??= this.doClose();
        return this.closing;
    }
    async doClose() {
        clearInterval(this.timer);
        // Calls still running get their `pending` row now; their final version, if it comes after
        // close, goes to the spool and is replayed by the next recorder on this spool dir.
        for (const call of this.inflight) {
            if (call.interim)
                continue;
            try {
                this.push(call, call.attempt > 1 ? 'retrying' : 'pending', OK, null);
                call.interim = true;
            }
            catch (e) {
                this.onError(e);
            }
        }
        // Drain until everything is written, or until the database refuses (then spool the rest).
        for (let round = 0; round < 20; round++) {
            if (this.draining)
                await this.draining;
            if (round > 0 && (!this.up || (this.queue.length === 0 && !this.spool.hasData())))
                break;
            this.nextProbeAt = 0; // one more attempt even if in backoff
            this.kick();
            await this.draining;
        }
        this.closed = true;
        this.spillQueue(); // whatever the database did not take
        this.spool.close();
        if (this.ownPool)
            await this.pool.end().catch(() => undefined);
    }
    stats() {
        return { ...this.counters, queuedRows: this.queue.length, queuedBytes: this.queuedBytes, databaseUp: this.up };
    }
}
function splitLines(text) {
    const out = [];
    let start = 0;
    for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl === -1) {
            if (start < text.length)
                out.push(text.slice(start));
            return out;
        }
        out.push(text.slice(start, nl + 1));
        start = nl + 1;
    }
}
function isThenable(v) {
    return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}
//# sourceMappingURL=recorder.js.map