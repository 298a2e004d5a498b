/**
 * Whom a per-source limit (login throttling, connection caps) counts a request against: the IPv4
 * address, or the /64 network of an IPv6 address, since one host can take any number of addresses
 * inside its /64 (privacy addresses) and would otherwise get a fresh allowance with each.
 * Shared by the web UI and the MQTT broker.
 */
import { isIP } from 'node:net';

export function sourceKey(address: string): string {
  let a = address.toLowerCase().replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  if (isIP(a) !== 6) return a;
  const [head = '', tail = ''] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = a.includes('::') ? (tail ? tail.split(':') : []) : [];
  // An embedded IPv4 tail (::1.2.3.4) counts as two groups; only the first four groups matter here.
  const width = (parts: string[]) => parts.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const groups = [...left, ...Array<string>(Math.max(0, 8 - width(left) - width(right))).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => (g.includes('.') ? g : parseInt(g || '0', 16).toString(16))).join(':')}::/64`;
}
