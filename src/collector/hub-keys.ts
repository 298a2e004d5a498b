/**
 * Reading a file of registered hub keys for `hearth-collector hubs import`: what `hearth report
 * pubkey` prints, either as text (a `pseudonym:` line followed by a `public key:` line) or as JSON
 * lines (`hearth report pubkey --json`), one hub after another.
 */
export interface HubKey {
  pseudonym: string;
  publicKey: string;
}

const PSEUDONYM = /^[0-9a-f]{32}$/;
const KEY = /^[A-Za-z0-9+/]{43}=$/;

export function parseHubKeys(text: string): { keys: HubKey[]; problems: string[] } {
  const keys: HubKey[] = [];
  const problems: string[] = [];
  let pending: { pseudonym: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('{')) {
      try {
        const doc = JSON.parse(line) as { pseudonym?: unknown; publicKey?: unknown; algorithm?: unknown };
        if (typeof doc.pseudonym === 'string' && PSEUDONYM.test(doc.pseudonym) && typeof doc.publicKey === 'string' && KEY.test(doc.publicKey) && (doc.algorithm === undefined || doc.algorithm === 'ed25519')) {
          keys.push({ pseudonym: doc.pseudonym, publicKey: doc.publicKey });
        } else problems.push(`line ${n}: not a hub key`);
      } catch {
        problems.push(`line ${n}: malformed JSON`);
      }
      return;
    }
    const p = /^pseudonym:\s+(\S+)$/.exec(line);
    if (p) {
      if (pending) problems.push(`line ${pending.line}: pseudonym without a public key`);
      if (PSEUDONYM.test(p[1]!)) pending = { pseudonym: p[1]!, line: n };
      else {
        pending = undefined;
        problems.push(`line ${n}: not a pseudonym`);
      }
      return;
    }
    const k = /^public key:\s+(\S+)(\s+\(Ed25519, base64\))?$/.exec(line);
    if (k) {
      if (!pending) problems.push(`line ${n}: public key without a pseudonym`);
      else if (!KEY.test(k[1]!)) problems.push(`line ${n}: not an Ed25519 public key`);
      else keys.push({ pseudonym: pending.pseudonym, publicKey: k[1]! });
      pending = undefined;
      return;
    }
    problems.push(`line ${n}: not understood`);
  });
  if (pending) problems.push(`line ${pending.line}: pseudonym without a public key`);
  return { keys, problems };
}
