/**
 * Household members: people the scales' weigh-ins belong to. Names are sealed (with the member id
 * as associated data) and found through a keyed blind index of the normalized name, so the
 * database never holds a readable name and lookups need no decryption.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../crypto/sealer.js';
import type { Db } from '../store/database.js';
import { blindIndexColumn, sealedColumn } from '../store/sealed-columns.js';
import { displayNameProblem } from '../text/display-name.js';

export interface Member {
  id: string;
  name: string;
  createdAt: number;
}

export const MAX_MEMBER_NAME_BYTES = 64;

/** Every member id the store makes (mem- and 6 random bytes in hex), and nothing else. */
export const MEMBER_ID_PATTERN = /^mem-[0-9a-f]{12}$/;

/** A member's name, sealed to the member. */
export const MEMBER_NAME = sealedColumn({ table: 'members', column: 'name', keyColumns: ['id'], purpose: 'memberName', aad: (r) => `member:${String(r.id)}:name` });

/** The keyed blind index members are found by name through (members.name_tag). */
export const MEMBER_NAME_INDEX = blindIndexColumn({
  select: 'SELECT id AS k, name AS sealed FROM members',
  update: 'UPDATE members SET name_tag = ? WHERE id = ?',
  sealed: MEMBER_NAME,
  index: (name, blind) => blind('memberIndex', normalizeMemberName(name)),
});

export function memberNameAad(memberId: string): string {
  return MEMBER_NAME.aad({ id: memberId });
}

/** Returns why a name is unusable, or undefined when it is fine. */
export function memberNameProblem(name: string): string | undefined {
  return displayNameProblem(name, 'name', MAX_MEMBER_NAME_BYTES);
}

/** The form a name is compared in: "Anna", " anna " and "ANNA" are one member. */
export function normalizeMemberName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ').toLocaleLowerCase('en-US');
}

export class MemberExistsError extends Error {
  constructor() {
    super('a member with this name already exists');
    this.name = 'MemberExistsError';
  }
}

export class MemberStore {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  add(name: string): Member {
    const problem = memberNameProblem(name);
    if (problem) throw new RangeError(problem);
    const display = name.normalize('NFC').trim().replace(/\s+/g, ' ');
    const tag = this.tag(display);
    if (this.db.prepare('SELECT 1 FROM members WHERE name_tag = ?').get(tag)) throw new MemberExistsError();
    const id = `mem-${randomBytes(6).toString('hex')}`;
    const createdAt = Date.now();
    this.db
      .prepare('INSERT INTO members (id, name, name_tag, created_at) VALUES (?, ?, ?, ?)')
      .run(id, this.sealer.seal('memberName', memberNameAad(id), display), tag, createdAt);
    return { id, name: display, createdAt };
  }

  findByName(name: string): Member | undefined {
    const row = this.db.prepare('SELECT id, name, created_at FROM members WHERE name_tag = ?').get(this.tag(name)) as RawMember | undefined;
    return row && this.decode(row);
  }

  get(id: string): Member | undefined {
    const row = this.db.prepare('SELECT id, name, created_at FROM members WHERE id = ?').get(id) as RawMember | undefined;
    return row && this.decode(row);
  }

  list(): Member[] {
    return (this.db.prepare('SELECT id, name, created_at FROM members ORDER BY created_at, id').all() as RawMember[]).map((r) => this.decode(r));
  }

  /** Deletes the member's row (their weigh-ins are the caller's: see MemberService.forget). */
  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM members WHERE id = ?').run(id).changes > 0;
  }

  ids(): string[] {
    return this.db.prepare('SELECT id FROM members ORDER BY created_at, id').pluck().all() as string[];
  }

  private tag(name: string): string {
    return MEMBER_NAME_INDEX.index(name, (purpose, value) => this.sealer.blindIndex(purpose, value));
  }

  private decode(row: RawMember): Member {
    return { id: row.id, name: this.sealer.openStringForDisplay('memberName', memberNameAad(row.id), row.name), createdAt: row.created_at };
  }
}

interface RawMember {
  id: string;
  name: Buffer;
  created_at: number;
}
