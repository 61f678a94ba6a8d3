"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.Spool = void 0;
/**
 * Append-only spool on local disk for rows the database could not take (down, or memory full).
 *
 * Files are segments named `<prefix>-<pid>-<startMs>-<seq>.copy` holding COPY text lines. Writes
 * are synchronous `write(2)` calls: once `append` returns the bytes are in the kernel, so a
 * SIGKILL of this process cannot lose them (a power cut can; we trade fsync per batch for speed).
 * Replay works segment by segment and deletes a segment only after its rows are committed, so a
 * crash during replay repeats rows — harmless, since replay is idempotent on the row id.
 * Segments left by a process that no longer runs are adopted by any recorder using the dir (two
 * adopting the same file both replay it — again harmless).
 */
const node_fs_1 = __importDefault(require("node:fs"));
const node_path_1 = __importDefault(require("node:path"));
const SEGMENT_BYTES = 8 * 1024 * 1024;
const NAME_RE = /^spool-(\d+)-(\d+)-(\d+)-(\d+)\.copy$/;
const RESCAN_MS = 10_000;
let instances = 0;
class Spool {
    dir;
    fd = null;
    current = null;
    currentBytes = 0;
    seq = 0;
    started = Date.now();
    /** Closed segments waiting for replay, oldest first. */
    closed = [];
    lastScan = -Infinity;
    instance = instances++;
    constructor(dir) {
        this.dir = dir;
    }
    /** Appends already-encoded COPY lines. Throws only if the disk refuses (caller reports it). */
    append(lines) {
        if (lines.length === 0)
            return;
        if (this.fd === null || this.currentBytes > SEGMENT_BYTES)
            this.rotate();
        const buf = Buffer.from(lines, 'utf8');
        let off = 0;
        while (off < buf.length)
            off += node_fs_1.default.writeSync(this.fd, buf, off);
        this.currentBytes += buf.length;
    }
    /** True when something is waiting for replay (including the open segment). */
    hasData() {
        this.scanOrphans();
        return this.closed.length > 0 || this.currentBytes > 0;
    }
    /** Closes the open segment so that everything spooled so far can be replayed. */
    seal() {
        if (this.fd !== null) {
            node_fs_1.default.closeSync(this.fd);
            if (this.currentBytes > 0)
                this.closed.push(this.current);
            else
                node_fs_1.default.rmSync(this.current, { force: true });
        }
        this.fd = null;
        this.current = null;
        this.currentBytes = 0;
    }
    /** Oldest sealed segment, or undefined. */
    next() {
        this.scanOrphans();
        return this.closed[0];
    }
    /** Drops a segment whose rows are committed. */
    done(file) {
        node_fs_1.default.rmSync(file, { force: true });
        this.closed = this.closed.filter((f) => f !== file);
    }
    close() {
        this.seal();
    }
    rotate() {
        this.seal();
        node_fs_1.default.mkdirSync(this.dir, { recursive: true });
        this.current = node_path_1.default.join(this.dir, `spool-${process.pid}-${this.started}-${this.instance}-${String(this.seq++).padStart(6, '0')}.copy`);
        this.fd = node_fs_1.default.openSync(this.current, 'a', 0o600);
        this.currentBytes = 0;
    }
    /** Adopts segments of processes that no longer run (checked at most every 10 s). */
    scanOrphans() {
        const now = Date.now();
        if (now - this.lastScan < RESCAN_MS)
            return;
        this.lastScan = now;
        let names;
        try {
            names = node_fs_1.default.readdirSync(this.dir);
        }
        catch {
            return;
        }
        const orphans = names
            .map((n) => ({ n, m: NAME_RE.exec(n) }))
            .filter((x) => x.m !== null)
            .filter(({ m }) => Number(m[1]) !== process.pid && !alive(Number(m[1])))
            .sort((a, b) => Number(a.m[2]) - Number(b.m[2]) || a.m[4].localeCompare(b.m[4]))
            .map(({ n }) => node_path_1.default.join(this.dir, n))
            .filter((f) => !this.closed.includes(f));
        this.closed.unshift(...orphans);
    }
}
exports.Spool = Spool;
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (err) {
        return err.code === 'EPERM';
    }
}
//# sourceMappingURL=spool.js.map