/**
 * Every sealed column in the database, with how its associated data is formed from the row. Key
 * rotation walks this list to re-seal everything; a test checks that no BLOB column is missing
 * from it. Each concern adds its own sealed columns here, next to the migration that creates them.
 */
import type { Purpose } from '../crypto/sealer.js';

export interface SealedColumn {
  table: string;
  column: string;
  /** Columns that identify the row (used to update it and to build its associated data). */
  keyColumns: string[];
  purpose: Purpose;
  aad(row: Record<string, unknown>): string;
  /** Narrows the rows (e.g. one meta key). */
  where?: string;
}

export const SEALED_COLUMNS: SealedColumn[] = [
  { table: 'meta', column: 'value', keyColumns: ['key'], where: "key = 'key_check'", purpose: 'keyCheck', aad: () => 'meta:key_check' },
  { table: 'devices', column: 'nickname', keyColumns: ['id'], purpose: 'deviceNickname', aad: (r) => `device:${String(r.id)}:nickname` },
  { table: 'camera_state', column: 'state', keyColumns: ['device_id'], purpose: 'cameraState', aad: (r) => `camera_state:${String(r.device_id)}` },
  { table: 'events', column: 'detail', keyColumns: ['id'], purpose: 'eventDetail', aad: (r) => `event:${String(r.id)}:detail` },
  { table: 'members', column: 'name', keyColumns: ['id'], purpose: 'memberName', aad: (r) => `member:${String(r.id)}:name` },
  { table: 'scales', column: 'address', keyColumns: ['device_id'], purpose: 'scaleAddress', aad: (r) => `scale:${String(r.device_id)}:address` },
  { table: 'ldp_memos', column: 'state', keyColumns: ['question'], purpose: 'uplinkSecret', aad: (r) => `ldp_memo:${String(r.question)}` },
  { table: 'measurements', column: 'metrics', keyColumns: ['id'], purpose: 'bodyMetrics', aad: (r) => `measurement:${String(r.id)}:metrics` },
];

/**
 * BLOB columns that hold no sealed data, and why (checked by the completeness test).
 * Format: "table.column".
 */
export const UNSEALED_BLOB_COLUMNS: Record<string, string> = {
  'report_outbox.payload': 'a signed report of noised aggregates, exactly the bytes that will leave the home',
  'privacy_ledger.payload': 'the exact bytes that left the home, kept readable as the household’s proof',
};
