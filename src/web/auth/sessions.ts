/**
 * Web sessions, kept in memory only: a restart logs everyone out, and nothing about a session is
 * ever on disk. The id is 256 random bits; only its SHA-256 is held, so a heap dump does not hand
 * out live cookies. Each session has its own CSRF token. Sessions end after an idle period and
 * at an absolute age; the number of sessions is bounded (oldest dropped first).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  csrfToken: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionOptions {
  idleMs?: number;
  absoluteMs?: number;
  maxSessions?: number;
  now?: () => number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(opts: SessionOptions = {}) {
    this.idleMs = opts.idleMs ?? 12 * 3600_000;
    this.absoluteMs = opts.absoluteMs ?? 7 * 24 * 3600_000;
    this.maxSessions = opts.maxSessions ?? 32;
    this.now = opts.now ?? Date.now;
  }

  /** Starts a session; returns the cookie value (shown to nobody else) and the session. */
  create(): { id: string; session: Session } {
    while (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: Session = { csrfToken: randomBytes(32).toString('base64url'), createdAt: at, lastSeen: at };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, refreshed; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const key = digest(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    const at = this.now();
    if (at - s.lastSeen > this.idleMs || at - s.createdAt > this.absoluteMs) {
      this.sessions.delete(key);
      return undefined;
    }
    s.lastSeen = at;
    return s;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id));
  }

  /** Ends every session (after the admin password changes). */
  clear(): void {
    this.sessions.clear();
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length !== session.csrfToken.length) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(session.csrfToken));
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
