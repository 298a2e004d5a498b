/**
 * Everything sealed or keyed by the master key, assembled from the modules that own the columns:
 * the key check, the device registry, each device kind, the household's members and the uplink's
 * memos of stable answers. Key rotation
 * and restore walk it; a test checks that every BLOB column is on it or named as unsealed.
 */
import { DEVICE_KINDS } from '../devices/kinds.js';
import { DEVICE_NICKNAME } from '../devices/registry.js';
import { MEMBER_NAME, MEMBER_NAME_INDEX } from '../members/store.js';
import { LDP_MEMO } from '../uplink/memo-store.js';
import { KEY_CHECK, type BlindIndexColumn, type SealedColumn, type SealedSchema } from '../store/sealed-columns.js';

export const SEALED_COLUMNS: readonly SealedColumn[] = [KEY_CHECK, DEVICE_NICKNAME, ...DEVICE_KINDS.flatMap((k) => k.sealedColumns), MEMBER_NAME, LDP_MEMO];
export const BLIND_INDEX_COLUMNS: readonly BlindIndexColumn[] = [MEMBER_NAME_INDEX, ...DEVICE_KINDS.flatMap((k) => k.blindIndexes ?? [])];
export const SEALED_SCHEMA: SealedSchema = { columns: SEALED_COLUMNS, indexes: BLIND_INDEX_COLUMNS };
