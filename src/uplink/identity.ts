/**
 * How the hub is known upstream: a random pseudonym made once and kept in meta (never derived from
 * a hardware id, MAC address or account), and an Ed25519 key pair derived from the master key's
 * reportSigningSeed subkey, so it survives restarts and needs no extra secret file.
 */
import type { Sealer } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Db } from '../store/database.js';
import { META_KEYS, MetaStore } from '../store/meta.js';

const PSEUDONYM_BYTES = 16;

export interface SigningKeys {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export function hubPseudonym(db: Db, sodium: SodiumApi): string {
  const meta = new MetaStore(db);
  return db.transaction(() => {
    const existing = meta.read(META_KEYS.pseudonym);
    if (existing) return existing.toString('utf8');
    const pseudonym = Buffer.from(sodium.randombytes_buf(PSEUDONYM_BYTES)).toString('hex');
    meta.insert(META_KEYS.pseudonym, Buffer.from(pseudonym, 'utf8'));
    return pseudonym;
  }).immediate();
}

export function reportSigningKeys(sodium: SodiumApi, sealer: Sealer): SigningKeys {
  const pair = sodium.crypto_sign_seed_keypair(sealer.subkey('reportSigningSeed'));
  return { publicKey: pair.publicKey, privateKey: pair.privateKey };
}

export function publicKeyBase64(keys: SigningKeys): string {
  return Buffer.from(keys.publicKey).toString('base64');
}

export function reportTopic(pseudonym: string): string {
  return `hearth/v1/reports/${pseudonym}`;
}
