/**
 * Opening the SQLite database: WAL (so the CLI can read and write while the daemon runs),
 * synchronous=FULL (a committed transaction survives a power cut, which is what a PUBACK
 * promises), foreign keys on, and versioned migrations applied in one transaction.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * SQLite's own page cache per connection, in KiB. better-sqlite3 builds SQLite with 16 MB; the
 * first export or purge that reads the whole events table filled it and the daemon kept those
 * 16 MB for good, on top of the kernel's cache of the same file. What the cameras' writes touch
 * (the tables' and indexes' right edges) fits many times over in 4 MB.
 */
export const PAGE_CACHE_KIB = 4096;
export const DB_FILE_NAME = 'hearth.db';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface OpenOptions {
  /** Refuse to create a new file (commands other than init/start expect an existing hub). */
  mustExist?: boolean;
  readonly?: boolean;
  migrations?: Migration[];
}

export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  if (opts.mustExist && !existsSync(path)) {
    throw new StoreError(`no database at ${path}; run \`hearth init\` first or pass the right --data-dir`);
  }
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.mustExist ?? false });
  } catch (err) {
    throw new StoreError(`cannot open database ${path}: ${describeSqliteError(err)}`);
  }
  try {
    // Reading the header first turns "file is not a database" into a clear error before any write.
    db.pragma('schema_version');
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      // Set on a new, empty file only (before its first table); an existing one is switched once
      // by the daemon before it serves (retention.ts, enableIncrementalVacuumOnce).
      if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    db.pragma('foreign_keys = ON');
    // Deleted rows are overwritten with zeros, not left in free pages (see scrub.ts).
    db.pragma('secure_delete = ON');
    if (!opts.readonly) migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`database ${path} is unusable: ${describeSqliteError(err)}`);
  }
  return db;
}

export function migrate(db: Db, migrations: Migration[]): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new StoreError(`database was written by a newer hearth (schema versions ${unknown.join(', ')}); upgrade hearth before using it`);
  }
  const pending = migrations.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const m of pending) {
      if (m.sql) db.exec(m.sql);
      m.apply?.(db);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
  return pending.map((m) => m.version);
}

function describeSqliteError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_NOTADB') return 'the file is not a SQLite database or is corrupted';
  if (e.code === 'SQLITE_CORRUPT') return 'the database is corrupted';
  if (e.code === 'SQLITE_CANTOPEN') return 'the file cannot be opened (check the path and permissions)';
  if (e.code === 'SQLITE_READONLY') return 'the database is read-only for this user';
  if (e.code === 'SQLITE_FULL') return 'the disk is full';
  return e.code ?? e.message ?? 'unknown error';
}
