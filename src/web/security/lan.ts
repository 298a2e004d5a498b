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

/** Whom login throttling counts an attempt against (an IPv4 address or an IPv6 /64). */
export { sourceKey as throttleKey } from '../../net/source-key.js';
