/**
 * The checks a report must pass before it may be stored, as pure functions of its bytes, its topic
 * and the clock: size, JSON, schema, topic pseudonym, window bounds and the Ed25519 signature over
 * its canonical bytes (the hub's own code in src/uplink does the signing and the checking). The
 * checks that need the database (the key pinned to the pseudonym, one report per window, a replayed
 * id) are made in the store, in the transaction that stores the report.
 */
import type { SodiumApi } from '../crypto/sodium.js';
import { verifyReport, type Report } from '../uplink/report.js';
import type { ReportSchemas } from './schema.js';

/** Every reason a report is not stored; counted per reason, and only the report id is ever logged. */
export const REFUSAL_REASONS = [
  'too-large',
  'malformed-json',
  'schema',
  'topic-mismatch',
  'window-future',
  'window-too-old',
  'bad-signature',
  'key-mismatch',
  'unregistered-key',
  'duplicate-window',
  'duplicate-id',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const REPORT_TOPIC_FILTER = 'hearth/v1/reports/+';
const TOPIC = /^hearth\/v1\/reports\/([0-9a-f]{32})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface CheckLimits {
  maxReportBytes: number;
  maxWindowAgeDays: number;
  maxFutureSeconds: number;
}

/** A report that passed every stateless check, with the UTC day its data belongs to. */
export interface CheckedReport {
  report: Report;
  /** YYYY-MM-DD of the window's last second: the day of the data, as the hub's budget counts it. */
  day: string;
}

export type CheckResult = { ok: true; checked: CheckedReport } | { ok: false; reason: RefusalReason; id?: string };

export function checkReport(payload: Buffer, topic: string, nowMs: number, limits: CheckLimits, deps: { sodium: SodiumApi; schemas: ReportSchemas }): CheckResult {
  if (payload.length > limits.maxReportBytes) return { ok: false, reason: 'too-large' };
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed-json' };
  }
  const id = idOf(doc);
  if (!deps.schemas.valid(doc)) return refuse('schema', id);
  const report = doc as Report;
  if (report.window.start >= report.window.end) return refuse('schema', id);
  const match = TOPIC.exec(topic);
  if (!match || match[1] !== report.hub) return refuse('topic-mismatch', id);
  const nowSec = Math.floor(nowMs / 1000);
  if (report.window.end > nowSec + limits.maxFutureSeconds) return refuse('window-future', id);
  if (report.window.end < nowSec - limits.maxWindowAgeDays * 86_400) return refuse('window-too-old', id);
  if (!verifyReport(deps.sodium, report)) return refuse('bad-signature', id);
  return { ok: true, checked: { report, day: dataDay(report.window.end) } };
}

function refuse(reason: RefusalReason, id: string | undefined): CheckResult {
  return id === undefined ? { ok: false, reason } : { ok: false, reason, id };
}

/** The report id, only when it has the shape of one (so nothing else from a hostile payload reaches a log). */
export function idOf(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const id = (doc as { id?: unknown }).id;
  return typeof id === 'string' && UUID.test(id) ? id : undefined;
}

/** The UTC day of a window ending (exclusively) at `endSec`. */
export function dataDay(endSec: number): string {
  return new Date((endSec - 1) * 1000).toISOString().slice(0, 10);
}
