/**
 * Lengths of the text fields a caller controls, applied before a row is queued. They keep every
 * row well inside what PostgreSQL accepts: a B-tree index entry must fit in ~2,700 bytes (SQLSTATE
 * 54000 otherwise), and service/action/entity type are indexed. Characters, not bytes: 4 bytes per
 * character at most, so 128 characters stay under 512 bytes.
 */
export const LIMITS = {
  service: 64,
  action: 128,
  entityType: 64,
  errorCode: 64,
  errorMessage: 2000,
  /** Upper bound of the maxPayloadBytes option (jsonb itself allows far more; rows stay small). */
  payloadBytes: 1024 * 1024,
  /** Nesting kept in payloads; deeper values become "[TOO DEEP]" (jsonb's parser has a stack limit). */
  payloadDepth: 32,
} as const;

/** Cuts a string at `max` characters without leaving half of a surrogate pair at the end. */
export function cap(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.charCodeAt(max - 1);
  return s.slice(0, cut >= 0xd800 && cut <= 0xdbff ? max - 1 : max);
}
