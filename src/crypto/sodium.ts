/**
 * libsodium (the sumo build, which carries crypto_pwhash / Argon2id) loaded once per process.
 * The package's ESM entry is broken on Node 20, so the CommonJS build is loaded through require.
 */
import { createRequire } from 'node:module';
import type Sodium from 'libsodium-wrappers-sumo';

export type SodiumApi = typeof Sodium;

const require = createRequire(import.meta.url);
let loaded: Promise<SodiumApi> | undefined;

export function loadSodium(): Promise<SodiumApi> {
  loaded ??= (async () => {
    const sodium = require('libsodium-wrappers-sumo') as SodiumApi;
    await sodium.ready;
    return sodium;
  })();
  return loaded;
}
