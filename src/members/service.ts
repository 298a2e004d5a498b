/**
 * The household-member use cases: add a member, forget one (their weigh-ins' body values go with
 * them; the count-only weigh-in events stay), and give a weigh-in to a member or take it back.
 * Each writes in one transaction, scrubs what a deletion leaves in the file, and emits its event.
 */
import type { DomainBus } from '../bus/bus.js';
import type { ChangeOrigin } from '../bus/events.js';
import type { Sealer } from '../crypto/sealer.js';
import { ScaleStore } from '../devices/scale/store.js';
import type { Db } from '../store/database.js';
import { truncateWalBlocking, truncateWalSoon } from '../store/scrub.js';
import { MemberStore, type Member } from './store.js';

export interface MemberServiceOptions {
  db: Db;
  sealer: Sealer;
  bus: DomainBus;
  origin?: ChangeOrigin;
  scrub?: 'background' | 'blocking';
}

export class MemberService {
  readonly store: MemberStore;
  private readonly scales: ScaleStore;

  constructor(private readonly opts: MemberServiceOptions) {
    this.store = new MemberStore(opts.db, opts.sealer);
    this.scales = new ScaleStore(opts.db, opts.sealer);
  }

  /** Adds a member; throws RangeError (a bad name) or MemberExistsError. */
  add(name: string): Member {
    const member = this.opts.db.transaction(() => this.store.add(name)).immediate();
    this.opts.bus.emit('member.added', { memberId: member.id, origin: 'local' });
    return member;
  }

  /** Deletes a member and their weigh-ins; false when there is no such member. */
  forget(memberId: string): boolean {
    const { db } = this.opts;
    const removed = db
      .transaction(() => {
        if (!this.store.get(memberId)) return false;
        this.scales.deleteOfMember(memberId);
        return this.store.remove(memberId);
      })
      .immediate();
    if (!removed) return false;
    if (this.opts.scrub === 'blocking') truncateWalBlocking(db);
    else truncateWalSoon(db);
    this.opts.bus.emit('member.forgotten', { memberId, origin: 'local' });
    return true;
  }

  /** A member's most recent weight (kg) and when it was measured, or null when none is known. */
  latestWeight(memberId: string): { weightKg: number; at: number } | null {
    for (const m of this.scales.history(memberId, 5)) if (m.measurement.weightKg !== null) return { weightKg: m.measurement.weightKg, at: m.measuredAt };
    return null;
  }

  /**
   * Gives a weigh-in to a member (null takes it back). 'no_measurement' or 'no_member' when either
   * does not exist.
   */
  assignWeighIn(measurementId: string, memberId: string | null): 'ok' | 'no_measurement' | 'no_member' {
    const result = this.opts.db
      .transaction(() => {
        if (memberId !== null && !this.store.get(memberId)) return 'no_member' as const;
        return this.scales.assign(measurementId, memberId) ? ('ok' as const) : ('no_measurement' as const);
      })
      .immediate();
    if (result === 'ok') this.opts.bus.emit('measurement.assigned', { measurementId, memberId, origin: 'local' });
    return result;
  }
}
