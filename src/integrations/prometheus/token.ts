/**
 * The bearer token for GET /metrics: 32 random bytes, shown once by `hearth metrics token`, kept
 * only as its SHA-256 (a random token needs no slow hash), and compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../store/database.js';
import { META_KEYS, MetaStore } from '../../store/meta.js';

/** `Authorization: Bearer <token>`: the token is base64url, 43 characters. */
export const METRICS_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class MetricsToken {
  private readonly meta: MetaStore;

  constructor(db: Db) {
    this.meta = new MetaStore(db);
  }

  /** Makes a new token (the previous one stops working) and returns it, to be shown once. */
  create(): string {
    const token = randomBytes(32).toString('base64url');
    this.meta.write(META_KEYS.metricsTokenHash, digest(token));
    return token;
  }

  exists(): boolean {
    return (this.meta.read(META_KEYS.metricsTokenHash)?.length ?? 0) === 32;
  }

  /** Whether an Authorization header carries the current token. False when none was made. */
  matchesHeader(header: string | undefined): boolean {
    const stored = this.meta.read(META_KEYS.metricsTokenHash);
    if (!stored || stored.length !== 32 || typeof header !== 'string' || header.length > 100) return false;
    const m = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(header);
    // Compare digests (equal length) whatever was sent, so timing says nothing about the token.
    const presented = digest(m ? m[1]! : header);
    return timingSafeEqual(presented, stored) && m !== null;
  }
}
