/**
 * Enrolment helper for the benchmark: generates `count` camera secrets and their Argon2id hashes
 * exactly as `hearth device add camera` does (one hash each, device cost). Run in parallel
 * processes to use every core; prints a JSON array of { password, hash }.
 *
 * Usage: node bench/hash-secrets.mjs <count>
 */
const count = Number(process.argv[2]);
const dist = new URL('../dist/', import.meta.url);
const { loadSodium } = await import(new URL('crypto/sodium.js', dist).href);
const { generateDevicePassword, hashPassword } = await import(new URL('crypto/password.js', dist).href);
const sodium = await loadSodium();
const out = [];
for (let i = 0; i < count; i++) {
  const password = generateDevicePassword();
  out.push({ password, hash: hashPassword(sodium, password, 'device') });
}
process.stdout.write(JSON.stringify(out));
