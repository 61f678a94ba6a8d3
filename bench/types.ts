/** One line of `npm run bench`'s table. */
export interface BenchRow {
  section: 'queries' | 'ingest' | 'recorder' | 'api' | 'dashboards' | 'storage' | 'adoption';
  name: string;
  /** The seed's design, same data, same run (absent where the seed has no equivalent). */
  seed?: number;
  ours: number;
  unit: string;
  /** How many times better ours is (direction-aware: for ms lower is better, for rows/s higher). */
  ratio?: number;
  note?: string;
}

export interface BenchContext {
  /** Superuser URL of a server the bench may create databases/schemas on. */
  databaseUrl: string;
  /** Row counts to generate, e.g. [1_000_000, 10_000_000]. */
  sizes: number[];
  log: (line: string) => void;
  /**
   * Superuser URL of the bench database (`intmon_bench`): our schema migrated into public with the
   * largest size's rows loaded (rollups included), the seed's design in schema `seed`.
   */
  benchDbUrl?: string;
}
