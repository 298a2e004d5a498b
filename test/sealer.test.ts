import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { paddedLength, Sealer, SealError } from '../src/crypto/sealer.js';
import { loadSodium } from '../src/crypto/sodium.js';
import { hashPassword, verifyPassword, VerifiedSecretCache } from '../src/crypto/password.js';

describe('field sealing', async () => {
  const sodium = await loadSodium();
  const key = randomBytes(32);
  const sealer = new Sealer(sodium, key);

  it('round-trips and never contains the plaintext', () => {
    const sealed = sealer.seal('cameraState', 'camera_state:cam-1', 'HomeNetwork-5G');
    expect(sealed.includes(Buffer.from('HomeNetwork-5G'))).toBe(false);
    expect(sealer.openString('cameraState', 'camera_state:cam-1', sealed)).toBe('HomeNetwork-5G');
  });

  it('uses a fresh nonce every time', () => {
    const a = sealer.seal('deviceNickname', 'x', 'same');
    const b = sealer.seal('deviceNickname', 'x', 'same');
    expect(a.equals(b)).toBe(false);
    const nonces = new Set<string>();
    for (let i = 0; i < 5000; i++) nonces.add(sealer.seal('eventDetail', 'x', 'v').subarray(1, 25).toString('hex'));
    expect(nonces.size).toBe(5000);
  });

  it('refuses a ciphertext moved to another row, another purpose, or tampered with', () => {
    const sealed = sealer.seal('deviceNickname', 'device:cam-1:nickname', 'Kitchen');
    expect(() => sealer.open('deviceNickname', 'device:cam-2:nickname', sealed)).toThrow(SealError);
    expect(() => sealer.open('cameraState', 'device:cam-1:nickname', sealed)).toThrow(SealError);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => sealer.open('deviceNickname', 'device:cam-1:nickname', tampered)).toThrow(SealError);
    expect(() => sealer.open('deviceNickname', 'device:cam-1:nickname', Buffer.alloc(10))).toThrow(/malformed/);
  });

  it('does not open under another master key, and the error names no value', () => {
    const other = new Sealer(sodium, randomBytes(32));
    const sealed = sealer.seal('deviceNickname', 'a', 'Secret Garden Cam');
    try {
      other.open('deviceNickname', 'a', sealed);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).not.toContain('Secret Garden Cam');
    }
  });

  it('seals in libsodium\'s memory exactly as the libsodium-wrappers call does, for any size and text', () => {
    const inputs: (string | Uint8Array)[] = ['', 'x', 'Grüße 🏠 ünïcödé', 'a'.repeat(5000), randomBytes(300), randomBytes(70_000), new Uint8Array(0)];
    for (const input of inputs) {
      const aad = `event:${inputs.indexOf(input)}:détail`;
      const sealed = sealer.seal('eventDetail', aad, input);
      const nonce = sealed.subarray(1, 25);
      const message = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
      // Version 2: the message padded to its size bucket (0x80, then zeros).
      const padded = Buffer.alloc(paddedLength(message.length));
      padded.set(message);
      padded[message.length] = 0x80;
      const viaWrappers = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, aad, null, nonce, sealer.subkey('eventDetail'));
      expect(sealed[0]).toBe(2);
      expect(Buffer.from(sealed.subarray(25)).equals(Buffer.from(viaWrappers))).toBe(true);
      expect(sealer.open('eventDetail', aad, sealed).equals(Buffer.from(message))).toBe(true);
    }
  });

  it('leaves no plaintext behind in libsodium\'s memory after sealing', () => {
    const marker = Buffer.from('plaintext-marker-7f3a9c1e');
    const lib = (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium;
    const isolated = new Sealer(sodium, randomBytes(32));
    isolated.seal('cameraState', 'camera_state:cam-1', `{"ssid":"${marker.toString()}"}`);
    const heap = Buffer.from(lib.HEAPU8.buffer, lib.HEAPU8.byteOffset, lib.HEAPU8.byteLength);
    expect(heap.includes(marker)).toBe(false);
  });

  it('falls back to the libsodium-wrappers call when the WASM module is not reachable', () => {
    const wrappersOnly = Object.create(sodium, { libsodium: { value: undefined } }) as typeof sodium;
    const fallback = new Sealer(wrappersOnly, key);
    const sealed = fallback.seal('cameraState', 'camera_state:cam-9', 'HomeNetwork-5G');
    expect(sealer.openString('cameraState', 'camera_state:cam-9', sealed)).toBe('HomeNetwork-5G');
  });

  it('derives keyed blind indexes: equal for equal values, different per key and purpose', () => {
    const a = sealer.blindIndex('memberIndex', 'Alice');
    expect(sealer.blindIndex('memberIndex', 'Alice')).toBe(a);
    expect(sealer.blindIndex('memberIndex', 'Bob')).not.toBe(a);
    expect(sealer.blindIndex('deviceIndex', 'Alice')).not.toBe(a);
    expect(new Sealer(sodium, randomBytes(32)).blindIndex('memberIndex', 'Alice')).not.toBe(a);
  });

  it('hashes passwords with Argon2id and caches only verified secrets', () => {
    const hash = hashPassword(sodium, 'correct horse', 'device');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(verifyPassword(sodium, hash, 'correct horse')).toBe(true);
    expect(verifyPassword(sodium, hash, 'wrong')).toBe(false);
    expect(verifyPassword(sodium, 'not a hash', 'x')).toBe(false);
    const cache = new VerifiedSecretCache();
    expect(cache.matches('cam-1', 'pw')).toBe(false);
    cache.remember('cam-1', 'pw');
    expect(cache.matches('cam-1', 'pw')).toBe(true);
    expect(cache.matches('cam-1', 'other')).toBe(false);
    cache.forget('cam-1');
    expect(cache.matches('cam-1', 'pw')).toBe(false);
  });
});
