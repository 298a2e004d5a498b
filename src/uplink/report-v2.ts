/**
 * Report format version 2: one signed report per consented category and window, carrying each
 * question's answer with its mechanism and parameters (src/metrics/ldp/answers.ts), so a collector
 * can estimate without guessing (src/metrics/ldp/estimators.ts). The allow-list is
 * schemas/report.v2.schema.json; `reportV2Schema()` builds the same document from the question
 * catalogue, and a test keeps the two identical.
 *
 * This module has no hub, store or web imports: the collector loads it as it is.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Category } from '../metrics/categories.js';
import { CATEGORIES } from '../metrics/categories.js';
import type { Answer } from '../metrics/ldp/answers.js';
import { questionsOf, type QuestionSpec } from '../metrics/ldp/questions.js';
import { canonicalBytes } from './canonical.js';

export const REPORT_V2 = 2;
/** The schema file lives at the repository root (two levels up from src/uplink and dist/uplink). */
export const REPORT_V2_SCHEMA_URL = new URL('../../schemas/report.v2.schema.json', import.meta.url);
/** Largest ε one answer may carry (a dBitFlip vector: twice the largest daily cap the config allows). */
export const MAX_ANSWER_EPSILON = 40;

export interface ReportV2 {
  v: typeof REPORT_V2;
  /** Random UUID v4; the collector deduplicates on it. */
  id: string;
  /** The hub's random pseudonym (32 hex). */
  hub: string;
  /** The hub's Ed25519 public key, base64. */
  key: string;
  category: Category;
  /** Epoch seconds, [start, end). */
  window: { start: number; end: number };
  /** Keyed by question name (src/metrics/ldp/questions.ts); only the questions answered in this window. */
  answers: Record<string, Answer>;
  /** `daily_epsilon`: the home's cap per UTC day over all categories; `spent`: what this report charged to it. */
  privacy: { daily_epsilon: number; spent: number };
  /** Ed25519 over the canonical JSON of the report without this field, base64. */
  signature: string;
}

export type UnsignedReportV2 = Omit<ReportV2, 'signature'>;

export function signReportV2(sodium: SodiumApi, privateKey: Uint8Array, unsigned: UnsignedReportV2): ReportV2 {
  const signature = sodium.crypto_sign_detached(canonicalBytes(unsigned), privateKey);
  return { ...unsigned, signature: Buffer.from(signature).toString('base64') };
}

/** Checks the signature (against `publicKey` when given, else the key in the report). Any report version. */
export function verifySignedReport(sodium: SodiumApi, report: { key: string; signature: string }, publicKey?: Uint8Array): boolean {
  const { signature, ...unsigned } = report;
  if (typeof signature !== 'string' || typeof unsigned.key !== 'string') return false;
  const key = publicKey ?? Buffer.from(unsigned.key, 'base64');
  if (publicKey && Buffer.compare(Buffer.from(publicKey), Buffer.from(unsigned.key, 'base64')) !== 0) return false;
  try {
    return sodium.crypto_sign_verify_detached(Buffer.from(signature, 'base64'), canonicalBytes(unsigned), key);
  } catch {
    return false;
  }
}

export function loadReportV2Schema(): object {
  return JSON.parse(readFileSync(REPORT_V2_SCHEMA_URL, 'utf8')) as object;
}

/** Validates version 2 reports against the allow-list schema. */
export class ReportV2Validator {
  private readonly check: ValidateFunction;

  constructor(schema: object = loadReportV2Schema()) {
    this.check = new Ajv({ allErrors: true, strict: true }).compile(schema);
  }

  /** undefined when valid; otherwise a short reason naming the offending paths (never values). */
  problem(doc: unknown): string | undefined {
    if (this.check(doc)) return undefined;
    return (this.check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`).slice(0, 5).join('; ');
  }
}

const epsilonSchema = { type: 'number', exclusiveMinimum: 0, maximum: MAX_ANSWER_EPSILON };
const spentSchema = { type: 'number', minimum: 0, maximum: MAX_ANSWER_EPSILON };
const bitSchema = { enum: [0, 1] };

function answerSchema(q: QuestionSpec): object {
  const base = { epsilon: epsilonSchema, spent: spentSchema, memo: { const: q.stable } };
  switch (q.kind) {
    case 'yes-no':
      return {
        type: 'object',
        additionalProperties: false,
        required: ['mechanism', 'epsilon', 'spent', 'memo', 'bit'],
        properties: { mechanism: { const: 'randomized-response' }, ...base, bit: bitSchema },
        description: q.help,
      };
    case 'mean':
      return {
        type: 'object',
        additionalProperties: false,
        required: ['mechanism', 'epsilon', 'spent', 'memo', 'bound', 'bit', ...(q.stable ? ['rounding'] : [])],
        properties: {
          mechanism: { const: '1bitmean' },
          ...base,
          bound: { const: q.bound },
          bit: bitSchema,
          ...(q.stable ? { rounding: { const: q.roundingStep } } : {}),
        },
        description: q.help,
      };
    case 'histogram':
      return {
        type: 'object',
        additionalProperties: false,
        required: ['mechanism', 'epsilon', 'spent', 'memo', 'buckets', 'bits'],
        properties: {
          mechanism: { const: 'dbitflip' },
          ...base,
          buckets: { const: q.buckets!.length },
          bits: {
            type: 'object',
            minProperties: 1,
            maxProperties: q.buckets!.length,
            propertyNames: { pattern: `^[0-${q.buckets!.length - 1}]$` },
            additionalProperties: bitSchema,
          },
        },
        description: q.help,
      };
  }
}

function categoryReportSchema(category: Category): object {
  const questions = questionsOf(category);
  return {
    type: 'object',
    additionalProperties: false,
    required: ['v', 'id', 'hub', 'key', 'category', 'window', 'answers', 'privacy', 'signature'],
    properties: {
      v: { const: REPORT_V2 },
      id: { $ref: '#/definitions/reportId' },
      hub: { $ref: '#/definitions/pseudonym' },
      key: { $ref: '#/definitions/publicKey' },
      category: { const: category },
      window: { $ref: '#/definitions/window' },
      answers: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: Object.fromEntries(questions.map((q) => [q.name, answerSchema(q)])),
      },
      privacy: {
        type: 'object',
        additionalProperties: false,
        required: ['daily_epsilon', 'spent'],
        properties: { daily_epsilon: epsilonSchema, spent: spentSchema },
      },
      signature: { $ref: '#/definitions/signature' },
    },
  };
}

/** The version 2 allow-list, built from the question catalogue (the committed file must equal it). */
export function reportV2Schema(): object {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'hearth-report-v2',
    title: 'hearth upstream report, version 2',
    description:
      'Everything a hearth hub may send upstream in format 2: per category, answers to allow-listed questions, each with its local-DP mechanism and parameters. No other field, category, question or parameter is valid, and the hub refuses to send what does not validate.',
    oneOf: CATEGORIES.map((c) => ({ $ref: `#/definitions/${c}` })),
    definitions: {
      reportId: {
        type: 'string',
        pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
        description: 'random UUID v4 of this report; the collector deduplicates on it',
      },
      pseudonym: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'random hub pseudonym, generated once on the hub' },
      publicKey: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$', description: "the hub's Ed25519 report-signing public key, base64" },
      signature: { type: 'string', pattern: '^[A-Za-z0-9+/]{86}==$', description: 'Ed25519 signature, base64, over the canonical JSON of the report without this field' },
      window: {
        type: 'object',
        additionalProperties: false,
        required: ['start', 'end'],
        properties: {
          start: { type: 'integer', minimum: 0, maximum: 9999999999, description: 'epoch seconds, inclusive' },
          end: { type: 'integer', minimum: 1, maximum: 9999999999, description: 'epoch seconds, exclusive' },
        },
      },
      ...Object.fromEntries(CATEGORIES.map((c) => [c, categoryReportSchema(c)])),
    },
  };
}
