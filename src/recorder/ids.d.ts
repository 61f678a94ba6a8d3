export declare function uuidv7(nowMs?: number): string;
export declare function isUuid(s: unknown): s is string;
