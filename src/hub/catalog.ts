/**
 * Everything sealed in the database, assembled from the modules that own the columns: the key
 * check, the device registry, each device kind and the household's members. Key rotation walks
 * this list; a test checks that every BLOB column is on it or named as unsealed.
 */
import { DEVICE_KINDS } from '../devices/kinds.js';
import { DEVICE_NICKNAME } from '../devices/registry.js';
import { MEMBER_NAME } from '../members/store.js';
import { KEY_CHECK, type SealedColumn } from '../store/sealed-columns.js';

export const SEALED_COLUMNS: readonly SealedColumn[] = [KEY_CHECK, DEVICE_NICKNAME, ...DEVICE_KINDS.flatMap((k) => k.sealedColumns), MEMBER_NAME];
