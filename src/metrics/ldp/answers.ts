/**
 * One answer to one question, as it appears in a version 2 report: the mechanism, its parameters
 * and the randomized bit(s), so a collector can estimate without guessing. Defined once here and
 * used by the encoder, the report format (src/uplink/report-v2.ts) and the estimators.
 *
 * - `epsilon`: the ε of the mechanism that produced this answer (what this answer alone can reveal).
 * - `spent`: what it cost the home's daily budget today: ε for a fresh answer or a new memo, 0 for a
 *   memo sent again (it reveals nothing new).
 * - `memo`: true when the answer is memoized (a stable value): the same bit(s) every day while the
 *   value stays the same.
 */
export const MECHANISMS = ['randomized-response', '1bitmean', 'dbitflip'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

interface AnswerBase {
  epsilon: number;
  spent: number;
  memo: boolean;
}

/** Yes/no by randomized response: the true answer with probability e^ε / (1 + e^ε). */
export interface YesNoAnswer extends AnswerBase {
  mechanism: 'randomized-response';
  bit: 0 | 1;
}

/** A bounded value x ∈ [0, bound] by 1BitMean: bit 1 with probability 1/(e^ε+1) + (x/bound)·(e^ε−1)/(e^ε+1). */
export interface MeanAnswer extends AnswerBase {
  mechanism: '1bitmean';
  bound: number;
  bit: 0 | 1;
  /** Memoized answers: the α-point rounding step the value was rounded with (the offset α stays on the hub). */
  rounding?: number;
}

/**
 * A histogram by dBitFlip: one bit per sampled bucket (keys are bucket indexes), 1 with probability
 * e^(ε/2)/(e^(ε/2)+1) if the value is in that bucket, else 1/(e^(ε/2)+1).
 */
export interface HistogramAnswer extends AnswerBase {
  mechanism: 'dbitflip';
  buckets: number;
  bits: Record<string, 0 | 1>;
}

export type Answer = YesNoAnswer | MeanAnswer | HistogramAnswer;
