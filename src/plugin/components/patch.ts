/** A copy of `obj` with `changes` applied; keys set to undefined are removed, never mutated. */
export function patch<T extends object>(obj: T, changes: Partial<T>): T {
  const next: Record<string, unknown> = { ...obj, ...changes };
  for (const key of Object.keys(changes)) {
    if (next[key] === undefined) {
      delete next[key];
    }
  }
  return next as T;
}
