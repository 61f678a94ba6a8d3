/** Postgres/pg error codes that mean "this is not a database we can use", as opposed to a bad statement. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '3D000', '28P01', '28000', '57P03']);

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  if (code && CONNECT_CODES.has(code)) return true;
  return /connect|timeout|password authentication|does not exist|getaddrinfo/i.test(String((err as Error)?.message ?? ''));
}

/** One line saying which server failed and how, without echoing the password. */
export function describeConnectionError(databaseUrl: string, err: unknown): string {
  let where = 'the database';
  try {
    const u = new URL(databaseUrl);
    where = `${u.hostname}:${u.port || 5432}/${decodeURIComponent(u.pathname.slice(1)) || '(default)'}`;
  } catch {
    where = 'DATABASE_URL (not a valid postgres:// URL)';
  }
  const e = err as { code?: string; message?: string };
  return `cannot use database ${where}: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
}
