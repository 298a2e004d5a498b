/**
 * Crypto microbench: seals per second of a 300-byte field through the project's Sealer (random
 * nonce from its pooled CSPRNG blocks, version byte, output assembly) against the bare libsodium
 * XChaCha20-Poly1305 call with a caller-supplied nonce; plus libsodium's own randombytes_buf(24),
 * the call that must stay off the hot path. Prints one JSON line.
 *
 * Usage: node bench/crypto-micro.mjs <milliseconds per case>
 */
import { randomBytes } from 'node:crypto';

const ms = Number(process.argv[2] ?? 1000);
const dist = new URL('../dist/', import.meta.url);
const { loadSodium } = await import(new URL('crypto/sodium.js', dist).href);
const { Sealer } = await import(new URL('crypto/sealer.js', dist).href);
const sodium = await loadSodium();
const sealer = new Sealer(sodium, randomBytes(sodium.crypto_kdf_KEYBYTES));
const field = randomBytes(300);
const aad = 'event:123456:detail';
const key = sealer.subkey('eventDetail');
const nonce = randomBytes(24);

/** Calls fn in chunks until `ms` have passed; returns calls per second. */
function rate(fn) {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 200; i++) fn();
    calls += 200;
    elapsed = performance.now() - start;
  }
  return (calls * 1000) / elapsed;
}

const sealerPerS = rate(() => sealer.seal('eventDetail', aad, field));
const barePerS = rate(() => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(field, aad, null, nonce, key));
const randomPerS = rate(() => sodium.randombytes_buf(24));
process.stdout.write(
  `${JSON.stringify({ field_bytes: field.length, sealer_seals_per_s: sealerPerS, bare_libsodium_seals_per_s: barePerS, libsodium_randombytes24_per_s: randomPerS })}\n`,
);
