/**
 * A home's answers for one day, under one daily epsilon budget for the whole home: the single code
 * path the hub's reporter and the privacy benchmark both run (question choice, encoding,
 * memoization, budget).
 *
 * - Stable questions (a value that repeats: cameras, scales) are memoized: each answer is drawn once
 *   per (question, value) and kept sealed on the hub; sending it again costs nothing and reveals
 *   nothing new. A 1BitMean memo is kept per α-rounded point (the offset α is drawn once per home
 *   and question); a dBitFlip memo is built one bucket bit per day, in a random order of buckets.
 * - The day's budget `dailyEpsilon` is split into `questionsPerDay` equal slots. Each slot goes to
 *   one missing memo piece if there is one (chosen at random), otherwise to one changing question
 *   chosen uniformly at random among the consented ones, answered afresh with the slot's whole ε.
 *   Asking one question with ε = 1 instead of eight with ε = 1/8 each is what makes the answers
 *   worth collecting: 1BitMean's variance grows like 1/ε² for small ε.
 */
import type { Category, MetricValues } from '../categories.js';
import type { RandomSource } from '../dp.js';
import type { Answer } from './answers.js';
import { alphaRound, dBitFlipBit, oneBitMean, randomizedResponse, randomOrder } from './mechanisms.js';
import { QUESTIONS, questionValue, type QuestionSpec } from './questions.js';

/** A stable question's memo: its ε (per piece), the secret rounding offset or bucket order, and the bits drawn so far. */
export interface MemoState {
  /** ε of each memoized bit (1BitMean, randomized response) or of each dBitFlip bit (the vector's ε is twice it). */
  epsilon: number;
  /** 1BitMean: α of the α-point rounding, in [0, step). */
  alpha?: number;
  /** dBitFlip: the random order in which bucket bits are drawn (so the drawn set is a uniform sample). */
  order?: number[];
  /** Memoized bits: 1BitMean by rounded point, randomized response by value ("0"/"1"), dBitFlip by "bucket:inBucket". */
  bits: Record<string, 0 | 1>;
}

export interface MemoStore {
  get(question: string): MemoState | undefined;
  set(question: string, state: MemoState): void;
}

export interface DayInput {
  /** Raw metric values of each consented category for the window (absent category = not consented). */
  values: Partial<Record<Category, MetricValues>>;
  /** ε the home may still spend today. */
  remaining: number;
  /** The home's cap per day over all categories. */
  dailyEpsilon: number;
  /** How many slots the cap is split into (default 1: one question a day with the whole ε). */
  questionsPerDay: number;
}

export interface DayAnswers {
  answers: Partial<Record<Category, Record<string, Answer>>>;
  /** ε charged today by these answers. */
  spent: number;
}

/** One fresh question a day with the whole daily ε (see the benchmark for other allocations). */
export const DEFAULT_QUESTIONS_PER_DAY = 1;

/** Floating-point slack so that e.g. two slots of 0.5 fit a cap of 1. */
const SLACK = 1e-9;

export function answerDay(input: DayInput, memos: MemoStore, random: RandomSource): DayAnswers {
  if (!(input.dailyEpsilon > 0) || !Number.isInteger(input.questionsPerDay) || input.questionsPerDay < 1) throw new RangeError('bad budget settings');
  const slotEpsilon = input.dailyEpsilon / input.questionsPerDay;
  const answers: Partial<Record<Category, Record<string, Answer>>> = {};
  const put = (q: QuestionSpec, a: Answer) => ((answers[q.category] ??= {})[q.name] = a);
  const consented = QUESTIONS.filter((q) => input.values[q.category] !== undefined);
  let spent = 0;
  const affordable = (cost: number) => spent + cost <= input.remaining + SLACK;

  // Stable questions: send what is memoized; note which memo piece is missing.
  const missing: { q: QuestionSpec; cost: number; create: () => void }[] = [];
  for (const q of consented.filter((x) => x.stable)) {
    const value = questionValue(q, input.values[q.category]!);
    const piece = stableAnswer(q, value, memos, slotEpsilon, random, put);
    if (piece && piece.cost <= slotEpsilon + SLACK) missing.push({ q, ...piece });
  }

  const changing = consented.filter((x) => !x.stable);
  for (let slot = 0; slot < input.questionsPerDay; slot++) {
    if (missing.length > 0) {
      const [piece] = missing.splice(random.uniform(missing.length), 1);
      if (!affordable(piece!.cost)) break;
      piece!.create();
      spent += piece!.cost;
      continue;
    }
    if (changing.length === 0 || !affordable(slotEpsilon)) break;
    const [q] = changing.splice(random.uniform(changing.length), 1);
    put(q!, freshAnswer(q!, questionValue(q!, input.values[q!.category]!), slotEpsilon, random));
    spent += slotEpsilon;
  }
  return { answers, spent };
}

function freshAnswer(q: QuestionSpec, value: number, epsilon: number, random: RandomSource): Answer {
  switch (q.kind) {
    case 'yes-no':
      return { mechanism: 'randomized-response', epsilon, spent: epsilon, memo: false, bit: randomizedResponse(random, value === 1, epsilon) };
    case 'mean':
      return { mechanism: '1bitmean', epsilon, spent: epsilon, memo: false, bound: q.bound!, bit: oneBitMean(random, value, q.bound!, epsilon) };
    case 'histogram':
      throw new Error('histogram questions are only asked as stable, memoized questions');
  }
}

/**
 * Puts the memoized answer of a stable question (if any bit of it exists for the current value)
 * and returns the missing piece, if any: its cost and how to draw it (which also puts the answer).
 */
function stableAnswer(
  q: QuestionSpec,
  value: number,
  memos: MemoStore,
  slotEpsilon: number,
  random: RandomSource,
  put: (q: QuestionSpec, a: Answer) => void,
): { cost: number; create: () => void } | undefined {
  let memo = memos.get(q.name);
  switch (q.kind) {
    case 'yes-no': {
      const key = String(value);
      const answer = (bit: 0 | 1, spent: number): Answer => ({ mechanism: 'randomized-response', epsilon: memo!.epsilon, spent, memo: true, bit });
      if (!memo) memo = { epsilon: slotEpsilon, bits: {} };
      const held = memo.bits[key];
      if (held !== undefined) return void put(q, answer(held, 0));
      const m = memo;
      return {
        cost: m.epsilon,
        create: () => {
          m.bits[key] = randomizedResponse(random, value === 1, m.epsilon);
          memos.set(q.name, m);
          put(q, answer(m.bits[key]!, m.epsilon));
        },
      };
    }
    case 'mean': {
      const step = q.roundingStep!;
      if (!memo) {
        // α is drawn once and kept even before any bit exists: the same value must always round the same way.
        memo = { epsilon: slotEpsilon, alpha: random.uniform(step), bits: {} };
        memos.set(q.name, memo);
      }
      const point = alphaRound(value, step, memo.alpha!, q.bound!);
      const key = String(point);
      const m = memo;
      const answer = (bit: 0 | 1, spent: number): Answer => ({ mechanism: '1bitmean', epsilon: m.epsilon, spent, memo: true, bound: q.bound!, bit, rounding: step });
      const held = m.bits[key];
      if (held !== undefined) return void put(q, answer(held, 0));
      return {
        cost: m.epsilon,
        create: () => {
          m.bits[key] = oneBitMean(random, point, q.bound!, m.epsilon);
          memos.set(q.name, m);
          put(q, answer(m.bits[key]!, m.epsilon));
        },
      };
    }
    case 'histogram': {
      const k = q.buckets!.length;
      if (!memo) {
        memo = { epsilon: slotEpsilon, order: randomOrder(random, k), bits: {} };
        memos.set(q.name, memo);
      }
      const m = memo;
      const keyOf = (j: number) => `${j}:${j === value ? 1 : 0}`;
      // Only the bits of a prefix of the secret order are sent: after a change, the buckets whose
      // membership changed lack a bit, and sending every other bit would show which ones they are.
      const bits: Record<string, 0 | 1> = {};
      for (const j of m.order!) {
        const b = m.bits[keyOf(j)];
        if (b === undefined) break;
        bits[String(j)] = b;
      }
      // The vector's ε is twice a bit's: a different value changes at most two buckets' bits.
      const answer = (spent: number): Answer => ({ mechanism: 'dbitflip', epsilon: 2 * m.epsilon, spent, memo: true, buckets: k, bits: { ...bits } });
      const next = m.order!.find((j) => m.bits[keyOf(j)] === undefined);
      if (next === undefined) return void put(q, answer(0));
      if (Object.keys(bits).length > 0) put(q, answer(0));
      return {
        cost: m.epsilon,
        create: () => {
          const bit = dBitFlipBit(random, next === value, 2 * m.epsilon);
          m.bits[keyOf(next)] = bit;
          bits[String(next)] = bit;
          memos.set(q.name, m);
          put(q, answer(m.epsilon));
        },
      };
    }
  }
}

/** An in-memory memo store (the benchmark's homes; a preview's scratch copy). */
export class MapMemoStore implements MemoStore {
  constructor(readonly map = new Map<string, MemoState>()) {}
  get(question: string): MemoState | undefined {
    return this.map.get(question);
  }
  set(question: string, state: MemoState): void {
    this.map.set(question, state);
  }
}
