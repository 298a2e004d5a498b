/**
 * Field sealing: XChaCha20-Poly1305 with a random nonce, under a per-purpose subkey derived from the
 * master key (crypto_kdf), with the row's identity as associated data so that a ciphertext copied
 * into another row (or another column) does not open. Lookups on sealed values go through a keyed
 * blind index (crypto_generichash under its own subkey), never through plaintext.
 *
 * Sealed layout: [version byte][24-byte nonce][ciphertext + 16-byte tag]. Version 0x02 (written
 * now) seals the plaintext padded to a size bucket (ISO/IEC 7816-4: a 0x80 byte, then zeros, up to
 * the next power of two from 32 bytes, then the next multiple of 4 KiB), so a ciphertext's length
 * does not tell a nickname's or an SSID's length; version 0x01 (unpadded) still opens.
 *
 * Nonces come from Node's CSPRNG in pooled blocks: libsodium-wrappers' own randombytes draws from
 * WebCrypto four bytes at a time (~100 µs per nonce), which would dominate the ingest hot path.
 * Sealing (on the ingest path for every status and event) calls libsodium's AEAD in its WASM
 * memory directly, through one reused scratch area, instead of through libsodium-wrappers, which
 * allocates, copies and frees each argument and the result on every call (see AeadScratch).
 */
import { randomFillSync } from 'node:crypto';
import type { SodiumApi } from './sodium.js';

/** Unpadded; still opened, no longer written. */
const SEAL_VERSION_UNPADDED = 0x01;
const SEAL_VERSION = 0x02;
const MIN_BUCKET = 32;
const LARGE_BUCKET = 4096;

/** The size a plaintext of `length` bytes is padded to (at least one byte of padding). */
export function paddedLength(length: number): number {
  const need = length + 1;
  if (need > LARGE_BUCKET) return Math.ceil(need / LARGE_BUCKET) * LARGE_BUCKET;
  let size = MIN_BUCKET;
  while (size < need) size *= 2;
  return size;
}

function pad(plaintext: Uint8Array | string): Buffer {
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const out = Buffer.alloc(paddedLength(bytes.length));
  out.set(bytes);
  out[bytes.length] = 0x80;
  if (typeof plaintext === 'string') (bytes as Buffer).fill(0);
  return out;
}

function unpad(padded: Buffer): Buffer | undefined {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) return undefined;
  return padded.subarray(0, end);
}
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
  /** The memos of stable local-DP answers (bits, rounding offsets): see uplink/memo-store.ts. */
  ldpMemo: 11,
  // 12 was reserved for a secret that is kept as an Argon2id hash instead; never reuse it.
  cameraTopic: 13, // a camera's firmware topic root (may name the camera's host or MAC)
} as const;
export type Purpose = keyof typeof PURPOSES;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** What a page, an export or the CLI shows for a stored value that no longer opens (a damaged byte). */
export const UNREADABLE = '(unreadable)';

export class Sealer {
  /** Told when a value read for showing fails to open (the hub counts it); never given the value. */
  onUnreadable: ((purpose: Purpose) => void) | undefined;
  private readonly subkeys = new Map<Purpose, Uint8Array>();
  private noncePool = Buffer.alloc(0);
  private nonceOffset = 0;
  /** Undefined when this libsodium build does not expose its WASM module (then the wrappers are used). */
  private readonly scratch: AeadScratch | undefined;

  constructor(
    private readonly sodium: SodiumApi,
    masterKey: Uint8Array,
  ) {
    if (masterKey.length !== sodium.crypto_kdf_KEYBYTES) throw new SealError('master key has the wrong length');
    for (const [name, id] of Object.entries(PURPOSES) as [Purpose, number][]) {
      this.subkeys.set(name, sodium.crypto_kdf_derive_from_key(32, id, KDF_CONTEXT, masterKey));
    }
    this.scratch = AeadScratch.create(sodium);
  }

  /** The 32-byte subkey for a purpose, for callers that need key material (e.g. a signing seed). */
  subkey(purpose: Purpose): Uint8Array {
    return this.subkeys.get(purpose)!;
  }

  seal(purpose: Purpose, aad: string, plaintext: Uint8Array | string): Buffer {
    const nonce = this.nextNonce();
    // The scratch area pads in place (no padded copy of the plaintext on the JS heap).
    const fast = this.scratch?.seal(this.subkey(purpose), nonce, aad, plaintext);
    if (fast) return fast;
    const message = pad(plaintext);
    let ct: Uint8Array;
    try {
      ct = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(message, aad, null, nonce, this.subkey(purpose));
    } finally {
      message.fill(0);
    }
    const out = Buffer.allocUnsafe(1 + NONCE_BYTES + ct.length);
    out[0] = SEAL_VERSION;
    nonce.copy(out, 1);
    out.set(ct, 1 + NONCE_BYTES);
    return out;
  }

  open(purpose: Purpose, aad: string, sealed: Uint8Array): Buffer {
    const version = sealed[0];
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || (version !== SEAL_VERSION && version !== SEAL_VERSION_UNPADDED)) {
      throw new SealError(`sealed ${purpose} value is malformed`);
    }
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const ct = sealed.subarray(1 + NONCE_BYTES);
    let plain: Buffer;
    try {
      const pt = this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, aad, nonce, this.subkey(purpose));
      plain = Buffer.from(pt.buffer, pt.byteOffset, pt.byteLength);
    } catch {
      // Deliberately vague: the reason (wrong key, tampering, moved row) is not distinguishable, and
      // the value itself must never appear in an error.
      throw new SealError(`sealed ${purpose} value does not open with this key for this row`);
    }
    if (version === SEAL_VERSION_UNPADDED) return plain;
    const unpadded = unpad(plain);
    if (!unpadded) throw new SealError(`sealed ${purpose} value is malformed`);
    return unpadded;
  }

  openString(purpose: Purpose, aad: string, sealed: Uint8Array): string {
    return this.open(purpose, aad, sealed).toString('utf8');
  }

  /**
   * Opens a value that is only shown (a nickname, a name, an event's detail): one damaged value
   * becomes UNREADABLE and is counted, instead of failing the whole page or export around it.
   */
  openStringForDisplay(purpose: Purpose, aad: string, sealed: Uint8Array): string {
    try {
      return this.openString(purpose, aad, sealed);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      this.onUnreadable?.(purpose);
      return UNREADABLE;
    }
  }

  /** As openStringForDisplay, for JSON: the fallback (counted) when the value does not open. */
  openJsonOr<T>(purpose: Purpose, aad: string, sealed: Uint8Array, fallback: T): T {
    try {
      return this.openJson<T>(purpose, aad, sealed);
    } catch (err) {
      if (!(err instanceof SealError) && !(err instanceof SyntaxError)) throw err;
      this.onUnreadable?.(purpose);
      return fallback;
    }
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

/** The parts of libsodium's Emscripten module (libsodium-wrappers' `libsodium`) the fast path uses. */
interface SodiumModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** (c, clen_p, m, mlen low, mlen high, ad, adlen low, adlen high, nsec, npub, k) -> 0 on success */
  _crypto_aead_xchacha20poly1305_ietf_encrypt(...args: number[]): number;
}

const KEY_BYTES = 32;
const utf8Encoder = new TextEncoder();

/**
 * One area in libsodium's WASM memory, reused for every seal: key, nonce, associated data, message
 * and ciphertext are written straight into it (strings encoded in place) and the result copied
 * once into the sealed layout. The key and plaintext are wiped from it after each call. Larger
 * inputs grow the area; the encryption itself is libsodium's, exactly as through the wrappers.
 */
class AeadScratch {
  private ptr = 0;
  private capacity = 0;

  private constructor(private readonly lib: SodiumModule) {}

  static create(sodium: SodiumApi): AeadScratch | undefined {
    const lib = (sodium as unknown as { libsodium?: Partial<SodiumModule> }).libsodium;
    if (!lib || typeof lib._malloc !== 'function' || typeof lib._free !== 'function' || typeof lib._crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function' || !(lib.HEAPU8 instanceof Uint8Array)) {
      return undefined;
    }
    return new AeadScratch(lib as SodiumModule);
  }

  /**
   * The sealed layout of the plaintext padded as pad() does, or undefined if the area could not be
   * allocated (the caller falls back).
   */
  seal(key: Uint8Array, nonce: Uint8Array, aad: string, plaintext: Uint8Array | string): Buffer | undefined {
    // Upper bounds of the encoded sizes (UTF-8 is at most 3 bytes per UTF-16 unit), padding included.
    const aadMax = aad.length * 3;
    const msgMax = paddedLength(typeof plaintext === 'string' ? plaintext.length * 3 : plaintext.length);
    const keyAt = 0;
    const nonceAt = KEY_BYTES;
    const aadAt = nonceAt + NONCE_BYTES;
    const msgAt = aadAt + aadMax;
    const ctAt = msgAt + msgMax;
    if (!this.reserve(ctAt + msgMax + TAG_BYTES)) return undefined;
    const base = this.ptr;
    let heap = this.lib.HEAPU8;
    heap.set(key, base + keyAt);
    heap.set(nonce, base + nonceAt);
    const aadLen = utf8Encoder.encodeInto(aad, heap.subarray(base + aadAt, base + msgAt)).written;
    let rawLen: number;
    if (typeof plaintext === 'string') rawLen = utf8Encoder.encodeInto(plaintext, heap.subarray(base + msgAt, base + ctAt)).written;
    else {
      heap.set(plaintext, base + msgAt);
      rawLen = plaintext.length;
    }
    const msgLen = paddedLength(rawLen);
    heap[base + msgAt + rawLen] = 0x80;
    heap.fill(0, base + msgAt + rawLen + 1, base + msgAt + msgLen);
    const rc = this.lib._crypto_aead_xchacha20poly1305_ietf_encrypt(base + ctAt, 0, base + msgAt, msgLen, 0, base + aadAt, aadLen, 0, 0, base + nonceAt, base + keyAt);
    heap = this.lib.HEAPU8; // the memory may have been replaced if it grew
    heap.fill(0, base + keyAt, base + nonceAt);
    heap.fill(0, base + msgAt, base + msgAt + msgLen);
    if (rc !== 0) throw new SealError('sealing failed');
    const ctLen = msgLen + TAG_BYTES;
    const out = Buffer.allocUnsafe(1 + NONCE_BYTES + ctLen);
    out[0] = SEAL_VERSION;
    out.set(nonce, 1);
    out.set(heap.subarray(base + ctAt, base + ctAt + ctLen), 1 + NONCE_BYTES);
    return out;
  }

  private reserve(bytes: number): boolean {
    if (bytes <= this.capacity) return true;
    const size = Math.max(bytes, 4096);
    const ptr = this.lib._malloc(size);
    if (ptr === 0) return false;
    if (this.ptr !== 0) {
      this.lib.HEAPU8.fill(0, this.ptr, this.ptr + this.capacity);
      this.lib._free(this.ptr);
    }
    this.ptr = ptr;
    this.capacity = size;
    return true;
  }
}
