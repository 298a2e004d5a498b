/**
 * Every sealed column in the database, with how its associated data is formed from the row. Each
 * column is defined once, by the module that owns its table (a device kind, members, the
 * registry), with sealedColumn(); the full list is assembled by the composition (hub/catalog.ts),
 * which key rotation walks to re-seal everything; a test checks that no BLOB column is missing.
 */
import type { Purpose } from '../crypto/sealer.js';

export interface SealedColumn {
  table: string;
  column: string;
  /** Columns that identify the row (used to update it and to build its associated data). */
  keyColumns: string[];
  purpose: Purpose;
  aad(row: Record<string, unknown>): string;
  /**
   * The associated data values of this column were sealed with before it changed, if it did:
   * key rotation and restore open a value with it when the current one fails, and re-seal it
   * with the current one (so a rotation also upgrades what the daemon has not yet).
   */
  legacyAad?(row: Record<string, unknown>): string;
  /** Narrows the rows (e.g. one meta key). */
  where?: string;
}

/** Defines a sealed column once: its owner seals and opens with `aad`, key rotation walks it. */
export function sealedColumn(column: SealedColumn): SealedColumn {
  return Object.freeze(column);
}

/** The database's key-check marker (see vault.ts). */
export const KEY_CHECK = sealedColumn({ table: 'meta', column: 'value', keyColumns: ['key'], where: "key = 'key_check'", purpose: 'keyCheck', aad: () => 'meta:key_check' });

/**
 * BLOB columns that hold no sealed data, and why (checked by the completeness test).
 * Format: "table.column".
 */
export const UNSEALED_BLOB_COLUMNS: Record<string, string> = {
  'report_outbox.payload': 'a signed report of noised aggregates, exactly the bytes that will leave the home',
  'privacy_ledger.payload': 'the exact bytes that left the home, kept readable as the household’s proof',
};

/**
 * Keyed blind indexes (lookups by a sealed value) are derived from the master key too, so key
 * rotation recomputes them from the opened values. Each is defined once by the owner of its
 * table, with the sealed column its value comes from and the same formula its store uses.
 */
export interface BlindIndexColumn {
  /** Rows as { k: row key, sealed: the sealed value the index is derived from }. */
  select: string;
  /** Sets the index: parameters (index, row key). */
  update: string;
  /** Where the value is sealed (its purpose and associated data; keyed by its first key column). */
  sealed: SealedColumn;
  index(plain: string, blindIndex: (purpose: Purpose, value: string) => string): string;
}

export function blindIndexColumn(column: BlindIndexColumn): BlindIndexColumn {
  return Object.freeze(column);
}

/** Everything sealed or keyed by the master key, as key rotation and restore walk it. */
export interface SealedSchema {
  columns: readonly SealedColumn[];
  indexes: readonly BlindIndexColumn[];
}
