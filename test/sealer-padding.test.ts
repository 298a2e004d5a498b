/**
 * Sealed values are padded to size buckets, so a ciphertext's length does not give away the length
 * of a nickname, an SSID or an event detail; values sealed before padding still open.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { paddedLength, Sealer } from '../src/crypto/sealer.js';
import { loadSodium } from '../src/crypto/sodium.js';
import { recordTally } from './helpers/robustness.js';

describe('sealed value padding', async () => {
  const sodium = await loadSodium();
  const key = randomBytes(32);
  const sealer = new Sealer(sodium, key);

  it('gives every nickname up to 31 bytes, and every one from 32 to 63, the same ciphertext length', () => {
    const short = new Set(Array.from({ length: 31 }, (_, i) => sealer.seal('deviceNickname', 'device:cam-1', 'n'.repeat(i + 1)).length));
    const longer = new Set(Array.from({ length: 32 }, (_, i) => sealer.seal('deviceNickname', 'device:cam-1', 'n'.repeat(i + 32)).length));
    expect(short.size).toBe(1);
    expect(longer.size).toBe(1);
    expect([paddedLength(0), paddedLength(31), paddedLength(32), paddedLength(4095), paddedLength(4096), paddedLength(9000)]).toEqual([32, 32, 64, 4096, 8192, 12288]);
  });

  it('pads in libsodium\'s memory exactly as specified: the value, 0x80, then zeros to the bucket, nothing left from an earlier value', () => {
    const opened = (sealed: Buffer, aad: string) =>
      Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(25), aad, sealed.subarray(1, 25), sealer.subkey('eventDetail')));
    const expected = (bytes: Buffer) => Buffer.concat([bytes, Buffer.from([0x80]), Buffer.alloc(paddedLength(bytes.length) - bytes.length - 1)]);
    const values: (string | Buffer)[] = [randomBytes(5000), 'ab', '', 'ü'.repeat(20), '€'.repeat(11), 'x'.repeat(31), 'x'.repeat(32), randomBytes(4095), Buffer.from([0x80, 0]), 'é'];
    for (const v of values) {
      const sealed = sealer.seal('eventDetail', 'event:1', v);
      expect(sealed[0]).toBe(2);
      const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
      expect(opened(sealed, 'event:1').equals(expected(bytes))).toBe(true);
      expect(sealed.length).toBe(1 + 24 + paddedLength(bytes.length) + 16);
    }
  });

  it('round-trips values that end in 0x80 or zero bytes exactly', () => {
    for (const v of [Buffer.from([0x80]), Buffer.from([0, 0, 0]), Buffer.from([1, 0x80, 0]), Buffer.alloc(0), randomBytes(31), randomBytes(32)]) {
      expect(sealer.open('eventDetail', 'a', sealer.seal('eventDetail', 'a', v)).equals(v)).toBe(true);
    }
  });

  it('still opens unpadded values (version 1), and refuses version 2 values whose padding is wrong', () => {
    const nonce = randomBytes(24);
    const legacyCt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt('Kitchen', 'device:cam-2', null, nonce, sealer.subkey('deviceNickname'));
    const legacy = Buffer.concat([Buffer.from([1]), nonce, Buffer.from(legacyCt)]);
    expect(sealer.openString('deviceNickname', 'device:cam-2', legacy)).toBe('Kitchen');
    // Authentic but without the 0x80 marker: not something this sealer wrote.
    const badCt = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(Buffer.alloc(32), 'device:cam-2', null, nonce, sealer.subkey('deviceNickname'));
    const bad = Buffer.concat([Buffer.from([2]), nonce, Buffer.from(badCt)]);
    expect(() => sealer.open('deviceNickname', 'device:cam-2', bad)).toThrow(/malformed/);
    const unknownVersion = Buffer.from(legacy);
    unknownVersion[0] = 3;
    expect(() => sealer.open('deviceNickname', 'device:cam-2', unknownVersion)).toThrow(/malformed/);
    recordTally({ surface: 'sealed-values', tried: 3, refused: 2, accepted: 1, crashes: 0, dataLost: 0 });
  });
});
