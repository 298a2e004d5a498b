/**
 * The hub's memos of stable answers (src/metrics/ldp/daily.ts), sealed in `ldp_memos`: the bits
 * and the secret rounding offset or bucket order would, in the clear, undo the randomization.
 * Sealed under the uplink subkey with the question as associated data.
 */
import type { Sealer } from '../crypto/sealer.js';
import type { MemoState, MemoStore } from '../metrics/ldp/daily.js';
import type { Db } from '../store/database.js';

const aad = (question: string) => `ldp_memo:${question}`;

export class SealedMemoStore implements MemoStore {
  private readonly stmts;

  constructor(
    db: Db,
    private readonly sealer: Sealer,
  ) {
    this.stmts = {
      get: db.prepare('SELECT state FROM ldp_memos WHERE question = ?').pluck(),
      put: db.prepare('INSERT INTO ldp_memos (question, state) VALUES (?, ?) ON CONFLICT(question) DO UPDATE SET state = excluded.state'),
    };
  }

  get(question: string): MemoState | undefined {
    const sealed = this.stmts.get.get(question) as Buffer | undefined;
    return sealed ? this.sealer.openJson<MemoState>('uplinkSecret', aad(question), sealed) : undefined;
  }

  set(question: string, state: MemoState): void {
    this.stmts.put.run(question, this.sealer.sealJson('uplinkSecret', aad(question), state));
  }
}

/** Reads through to another store and keeps its own writes (a preview changes nothing stored). */
export class ScratchMemoStore implements MemoStore {
  private readonly own = new Map<string, MemoState>();

  constructor(private readonly under: MemoStore) {}

  get(question: string): MemoState | undefined {
    const held = this.own.get(question) ?? this.under.get(question);
    return held ? (structuredClone(held) as MemoState) : undefined;
  }

  set(question: string, state: MemoState): void {
    this.own.set(question, structuredClone(state) as MemoState);
  }
}
