/**
 * Names the household gives (device nicknames, member names) are shown in the UI and the CLI, so
 * they must be printable: no control characters, and no bidirectional overrides or isolates
 * (U+202A–U+202E, U+2066–U+2069), which can make one name display as another.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const BIDI_CONTROL = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Why a display name is unusable (`what` is "nickname" or "name"), or undefined when it is fine. */
export function displayNameProblem(text: string, what: string, maxBytes: number): string | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0) return `the ${what} is empty`;
  if (Buffer.byteLength(trimmed) > maxBytes) return `the ${what} is longer than ${maxBytes} bytes`;
  if (CONTROL.test(trimmed)) return `the ${what} contains control characters`;
  if (BIDI_CONTROL.test(trimmed)) return `the ${what} contains text-direction controls`;
  return undefined;
}
