/**
 * The web UI is for the household's own network. A request whose source address is not loopback,
 * a private IPv4 range (RFC 1918), link-local, or an IPv6 unique-local address is refused unless
 * the configuration says otherwise (http.allowPublic), so a hub exposed by a router's port
 * forwarding does not hand its login page to the internet.
 */
import { isIP } from 'node:net';

export function isLanAddress(address: string | undefined): boolean {
  if (!address) return false;
  let a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4) a = a.slice(7);
  if (isIP(a) === 4) {
    const [p, q] = a.split('.').map(Number) as [number, number];
    return p === 127 || p === 10 || (p === 172 && q >= 16 && q <= 31) || (p === 192 && q === 168) || (p === 169 && q === 254);
  }
  if (isIP(a) === 6) {
    if (a === '::1') return true;
    const first = parseInt(a.split(':')[0] || '0', 16);
    // fc00::/7 unique local, fe80::/10 link-local
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
  }
  return false;
}

/**
 * Whom login throttling counts an attempt against: the IPv4 address, or the /64 network of an
 * IPv6 address, since one host can take any number of addresses inside its /64 (privacy addresses)
 * and would otherwise get fresh free guesses with each.
 */
export function throttleKey(address: string): string {
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
