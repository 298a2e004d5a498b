/**
 * Field sealing: XChaCha20-Poly1305 with a random nonce, under a per-purpose subkey derived from the
 * master key (crypto_kdf), with the row's identity as associated data so that a ciphertext copied
 * into another row (or another column) does not open. Lookups on sealed values go through a keyed
 * blind index (crypto_generichash under its own subkey), never through plaintext.
 *
 * Sealed layout: [version byte 0x01][24-byte nonce][ciphertext + 16-byte tag].
 *
 * Nonces come from Node's CSPRNG in pooled blocks: libsodium-wrappers' own randombytes draws from
 * WebCrypto four bytes at a time (~100 µs per nonce), which would dominate the ingest hot path.
 */
import { randomFillSync } from 'node:crypto';
import type { SodiumApi } from './sodium.js';

const SEAL_VERSION = 0x01;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const KDF_CONTEXT = 'hearth01'; // crypto_kdf contexts are exactly 8 bytes
const NONCE_POOL_NONCES = 2048;

/**
 * Every purpose a subkey exists for. Ids are part of the on-disk format: never renumber, only add.
 */
export const PURPOSES = {
  keyCheck: 1,
  deviceNickname: 2,
  cameraState: 3,
  eventDetail: 4,
  deviceIndex: 5, // blind index key
  memberName: 6,
  bodyMetrics: 7,
  memberIndex: 8, // blind index key
  scaleAddress: 9,
  reportSigningSeed: 10,
  uplinkSecret: 11,
  adminSecret: 12,
} as const;
export type Purpose = keyof typeof PURPOSES;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export class Sealer {
  private readonly subkeys = new Map<Purpose, Uint8Array>();
  private noncePool = Buffer.alloc(0);
  private nonceOffset = 0;

  constructor(
    private readonly sodium: SodiumApi,
    masterKey: Uint8Array,
  ) {
    if (masterKey.length !== sodium.crypto_kdf_KEYBYTES) throw new SealError('master key has the wrong length');
    for (const [name, id] of Object.entries(PURPOSES) as [Purpose, number][]) {
      this.subkeys.set(name, sodium.crypto_kdf_derive_from_key(32, id, KDF_CONTEXT, masterKey));
    }
  }

  /** The 32-byte subkey for a purpose, for callers that need key material (e.g. a signing seed). */
  subkey(purpose: Purpose): Uint8Array {
    return this.subkeys.get(purpose)!;
  }

  seal(purpose: Purpose, aad: string, plaintext: Uint8Array | string): Buffer {
    const nonce = this.nextNonce();
    const message = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const ct = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, aad, null, nonce, this.subkey(purpose));
    const out = Buffer.allocUnsafe(1 + NONCE_BYTES + ct.length);
    out[0] = SEAL_VERSION;
    nonce.copy(out, 1);
    out.set(ct, 1 + NONCE_BYTES);
    return out;
  }

  open(purpose: Purpose, aad: string, sealed: Uint8Array): Buffer {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== SEAL_VERSION) {
      throw new SealError(`sealed ${purpose} value is malformed`);
    }
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const ct = sealed.subarray(1 + NONCE_BYTES);
    try {
      const pt = this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, aad, nonce, this.subkey(purpose));
      return Buffer.from(pt.buffer, pt.byteOffset, pt.byteLength);
    } catch {
      // Deliberately vague: the reason (wrong key, tampering, moved row) is not distinguishable, and
      // the value itself must never appear in an error.
      throw new SealError(`sealed ${purpose} value does not open with this key for this row`);
    }
  }

  openString(purpose: Purpose, aad: string, sealed: Uint8Array): string {
    return this.open(purpose, aad, sealed).toString('utf8');
  }

  sealJson(purpose: Purpose, aad: string, value: unknown): Buffer {
    return this.seal(purpose, aad, JSON.stringify(value));
  }

  openJson<T>(purpose: Purpose, aad: string, sealed: Uint8Array): T {
    return JSON.parse(this.openString(purpose, aad, sealed)) as T;
  }

  /** Keyed, deterministic 16-byte lookup tag for a value (hex), so equality lookups need no plaintext. */
  blindIndex(purpose: Purpose, value: string): string {
    return Buffer.from(this.sodium.crypto_generichash(16, value, this.subkey(purpose))).toString('hex');
  }

  private nextNonce(): Buffer {
    if (this.nonceOffset + NONCE_BYTES > this.noncePool.length) {
      this.noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * NONCE_POOL_NONCES));
      this.nonceOffset = 0;
    }
    const nonce = this.noncePool.subarray(this.nonceOffset, this.nonceOffset + NONCE_BYTES);
    this.nonceOffset += NONCE_BYTES;
    return nonce;
  }
}
