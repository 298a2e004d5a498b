/**
 * Which household member a weigh-in belongs to: the one whose recent weights it matches, within a
 * tolerance. Two or more plausible members, or none, leave it unassigned for the household to
 * resolve; a wrong guess is worse than a question.
 */

export interface MemberWeights {
  memberId: string;
  /** The member's most recent weights, newest first (already limited to the history window). */
  recentKg: number[];
}

export type Assignment =
  | { memberId: string; reason: 'match' | 'only-member' }
  | { memberId: null; reason: 'no-weight' | 'no-members' | 'no-match' | 'ambiguous' };

/** How many recent weights describe a member (their median, so one odd weigh-in does not move it). */
export const REFERENCE_WEIGHTS = 5;

export function assignWeighIn(weightKg: number | null, members: MemberWeights[], toleranceKg: number): Assignment {
  if (weightKg === null || !Number.isFinite(weightKg)) return { memberId: null, reason: 'no-weight' };
  if (members.length === 0) return { memberId: null, reason: 'no-members' };
  const withHistory = members.filter((m) => m.recentKg.length > 0);
  // A household of one with no history yet: nobody else could have stepped on the scale.
  if (members.length === 1 && withHistory.length === 0) return { memberId: members[0]!.memberId, reason: 'only-member' };
  const candidates = withHistory.filter((m) => Math.abs(referenceWeight(m.recentKg) - weightKg) <= toleranceKg);
  if (candidates.length === 1) return { memberId: candidates[0]!.memberId, reason: 'match' };
  return { memberId: null, reason: candidates.length === 0 ? 'no-match' : 'ambiguous' };
}

export function referenceWeight(recentKg: number[]): number {
  const sorted = recentKg.slice(0, REFERENCE_WEIGHTS).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
