export declare class Spool {
    readonly dir: string;
    private fd;
    private current;
    private currentBytes;
    private seq;
    private readonly started;
    /** Closed segments waiting for replay, oldest first. */
    private closed;
    private lastScan;
    private readonly instance;
    constructor(dir: string);
    /** Appends already-encoded COPY lines. Throws only if the disk refuses (caller reports it). */
    append(lines: string): void;
    /** True when something is waiting for replay (including the open segment). */
    hasData(): boolean;
    /** Closes the open segment so that everything spooled so far can be replayed. */
    seal(): void;
    /** Oldest sealed segment, or undefined. */
    next(): string | undefined;
    /** Drops a segment whose rows are committed. */
    done(file: string): void;
    close(): void;
    private rotate;
    /** Adopts segments of processes that no longer run (checked at most every 10 s). */
    private scanOrphans;
}
