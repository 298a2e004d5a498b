/**
 * MQTT topic filters as pure functions: does a topic match a filter, may a requested subscription
 * be granted under an allowed one, can two filters ever match the same topic (two cameras may not
 * claim overlapping topics), and is a user's `--topic` value a usable root.
 */

/** Does `topic` (no wildcards) match `filter` (MQTT `+` and `#`)? */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Does `allowed` match every topic `requested` can match (so granting `requested` stays inside `allowed`)? */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= r.length) return false;
    if (r[i] === '#') return false;
    if (a[i] === '+') continue;
    if (a[i] !== r[i]) return false;
  }
  return a.length === r.length;
}

/** Is there a topic that matches both filters? */
export function filtersOverlap(x: string, y: string): boolean {
  const a = x.split('/');
  const b = y.split('/');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] === '#' || b[i] === '#') return true;
    if (a[i] === undefined || b[i] === undefined) return false;
    if (a[i] === '+' || b[i] === '+') continue;
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Longest `--topic` value taken; firmware settings fields are shorter. */
export const MAX_TOPIC_ROOT_BYTES = 128;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a `--topic` value cannot be used as a topic root, or undefined: it must be a plain topic
 * (levels without wildcards, no empty level, no `$` system prefix, no control characters) and may
 * not reach into hearth's own `hearth/` tree.
 */
export function topicRootProblem(root: string, maxLevels = 8): string | undefined {
  if (root.length === 0) return 'the topic is empty';
  if (Buffer.byteLength(root) > MAX_TOPIC_ROOT_BYTES) return `the topic is longer than ${MAX_TOPIC_ROOT_BYTES} bytes`;
  if (CONTROL.test(root)) return 'the topic has control characters';
  if (/[+#]/.test(root)) return 'the topic may not contain the wildcards + or #';
  if (root.startsWith('$')) return 'topics starting with $ are the broker’s own';
  const levels = root.split('/');
  if (levels.some((l) => l.length === 0)) return 'the topic has an empty level (a leading, trailing or double /)';
  if (levels.length > maxLevels) return `the topic has more than ${maxLevels} levels`;
  if (levels[0] === 'hearth') return 'topics under hearth/ are the hub’s own';
  return undefined;
}
