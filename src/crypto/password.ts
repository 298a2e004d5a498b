/**
 * Password hashing with Argon2id (libsodium crypto_pwhash_str). Device passwords are random and
 * long, so a moderate cost suffices and keeps a reconnect storm on a Pi bearable; the admin
 * password is chosen by a person and gets libsodium's "interactive" cost.
 */
import { randomBytes, timingSafeEqual, createHmac } from 'node:crypto';
import type { SodiumApi } from './sodium.js';

export type PasswordCost = 'device' | 'admin';

/** Argon2id [opslimit, memlimit] for a kind of secret. */
export function passwordCost(sodium: SodiumApi, cost: PasswordCost): [number, number] {
  return cost === 'admin'
    ? [sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE, sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE]
    : [2, 19 * 1024 * 1024]; // OWASP's Argon2id minimum: t=2, m=19 MiB
}

/**
 * Hashes on the calling thread. Fine for the CLI (a short-lived process); the daemon uses
 * PasswordWorker instead, so a hash neither blocks its event loop nor grows its memory for good.
 */
export function hashPassword(sodium: SodiumApi, password: string, cost: PasswordCost): string {
  const [ops, mem] = passwordCost(sodium, cost);
  return sodium.crypto_pwhash_str(password, ops, mem);
}

export function verifyPassword(sodium: SodiumApi, hash: string, password: string): boolean {
  try {
    return sodium.crypto_pwhash_str_verify(hash, password);
  } catch {
    return false;
  }
}

/** A random secret for a device: 24 bytes (192 bits), URL-safe base64 so it pastes into any config. */
export function generateDevicePassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Remembers, in memory only, which (id, password) pairs already passed an Argon2id check, so a
 * camera's reconnects cost an HMAC instead of a full hash. The process-random key means nothing
 * here is useful outside this process; entries are dropped when a device is removed.
 */
export class VerifiedSecretCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly maxEntries = 10_000) {}

  private tag(secret: string): Buffer {
    return createHmac('sha256', this.key).update(secret).digest();
  }

  matches(id: string, secret: string): boolean {
    const known = this.entries.get(id);
    return known !== undefined && timingSafeEqual(known, this.tag(secret));
  }

  remember(id: string, secret: string): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(id, this.tag(secret));
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}

/** Hashing a new secret: off the event loop in the daemon (PasswordWorker), inline in the CLI. */
export interface PasswordHashing {
  hash(password: string, cost: PasswordCost): Promise<string>;
}

/** Inline hashing, for short-lived processes (the CLI) where blocking is harmless. */
export function inlinePasswordHashing(sodium: SodiumApi): PasswordHashing {
  return { hash: async (password, cost) => hashPassword(sodium, password, cost) };
}
