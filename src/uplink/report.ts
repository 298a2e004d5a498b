/**
 * The upstream report: building, signing (Ed25519 over the canonical JSON without the signature),
 * verifying, and validating against the allow-list JSON Schemas: schemas/report.v2.schema.json for
 * the reports the hub makes now (src/uplink/report-v2.ts), schemas/report.schema.json for format 1
 * (discrete Laplace per metric), which stays readable and verifiable for old outboxes and ledgers.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Category, MetricValues } from '../metrics/categories.js';
import type { PrivateRelease } from '../metrics/dp.js';
import { canonicalBytes } from './canonical.js';
import { loadReportV2Schema, verifySignedReport, type ReportV2 } from './report-v2.js';

export const REPORT_VERSION = 1;
/** The schema file lives at the repository root (two levels up from src/uplink and dist/uplink). */
export const REPORT_SCHEMA_URL = new URL('../../schemas/report.schema.json', import.meta.url);

/** A format 1 report: every metric of a category, each with discrete Laplace noise. */
export interface ReportV1 {
  v: typeof REPORT_VERSION;
  id: string;
  hub: string;
  key: string;
  category: Category;
  /** Epoch seconds, [start, end). */
  window: { start: number; end: number };
  metrics: MetricValues;
  privacy: { mechanism: PrivateRelease['mechanism']; epsilon: number; bounds: Record<string, number> };
  signature: string;
}

/** Any report the hub may hold or have sent. */
export type Report = ReportV1 | ReportV2;

export function newReportId(sodium: SodiumApi): string {
  const b = Buffer.from(sodium.randombytes_buf(16));
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The exact bytes published: the canonical JSON of the signed report. */
export function reportBytes(report: Report): Buffer {
  return canonicalBytes(report);
}

/**
 * Checks a received report's signature. With `publicKey` the signer must be that key; without it,
 * the key in the report is used (trust on first use by the collector).
 */
export function verifyReport(sodium: SodiumApi, report: Report, publicKey?: Uint8Array): boolean {
  return verifySignedReport(sodium, report, publicKey);
}

/** Validates a report of either format against its schema (chosen by `v`; any other `v` is refused). */
export class ReportValidator {
  private readonly checks: Map<number, ValidateFunction>;

  constructor(schemas: { v1?: object; v2?: object } = {}) {
    const compile = (schema: object) => new Ajv({ allErrors: true, strict: true }).compile(schema);
    this.checks = new Map([
      [1, compile(schemas.v1 ?? loadReportSchema())],
      [2, compile(schemas.v2 ?? loadReportV2Schema())],
    ]);
  }

  /** undefined when valid; otherwise a short reason naming the offending paths (never values). */
  problem(doc: unknown): string | undefined {
    const v = typeof doc === 'object' && doc !== null ? (doc as { v?: unknown }).v : undefined;
    const check = typeof v === 'number' ? this.checks.get(v) : undefined;
    if (!check) return '/v must be a known report version (1 or 2)';
    if (check(doc)) return undefined;
    return (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).slice(0, 5).join('; ');
  }
}

export function loadReportSchema(): object {
  return JSON.parse(readFileSync(REPORT_SCHEMA_URL, 'utf8')) as object;
}
