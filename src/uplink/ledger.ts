/**
 * The privacy ledger: every message that ever left the hub, with its exact bytes, topic and time.
 * A row is committed before the bytes are handed to the network, so nothing leaves unrecorded (a
 * send that then fails is still listed: the bytes may have reached the broker). Append-only.
 */
import type { Db } from '../store/database.js';

export interface LedgerEntry {
  seq: number;
  reportId: string;
  topic: string;
  payload: Buffer;
  sentAt: number;
}

export class PrivacyLedger {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT INTO privacy_ledger (report_id, topic, payload, sent_at) VALUES (?, ?, ?, ?)'),
      list: db.prepare('SELECT id, report_id, topic, payload, sent_at FROM privacy_ledger ORDER BY id DESC LIMIT ?'),
      count: db.prepare('SELECT COUNT(*) FROM privacy_ledger').pluck(),
    };
  }

  record(reportId: string, topic: string, payload: Buffer, at: number): number {
    return Number(this.stmts.insert.run(reportId, topic, payload, at).lastInsertRowid);
  }

  /** The newest entries first. */
  list(limit = 1000): LedgerEntry[] {
    return (this.stmts.list.all(limit) as { id: number; report_id: string; topic: string; payload: Buffer; sent_at: number }[]).map((r) => ({
      seq: r.id,
      reportId: r.report_id,
      topic: r.topic,
      payload: r.payload,
      sentAt: r.sent_at,
    }));
  }

  size(): number {
    return this.stmts.count.get() as number;
  }
}
