/**
 * DNS rebinding guard. A web page on the internet can point its own host name at the hub's LAN
 * address; the visitor's browser then sends that page's requests to the hub as "same origin", from
 * an address on the LAN, so the LAN guard alone lets them through. Such requests carry the
 * attacker's host name in the Host header. The hub answers only Host values no outside party can
 * make a browser resolve to it: IP literals, `localhost`, single-label names, names under the
 * suffixes reserved for local networks (.local, .lan, .home.arpa, .internal, .localhost), and the
 * names listed in http.allowedHosts.
 */
import { isIP } from 'node:net';

const LOCAL_SUFFIXES = ['.local', '.lan', '.home.arpa', '.internal', '.localhost'];
const IPV6_LITERAL = /^\[[0-9a-f:.]{2,45}\]$/;
const NAME = /^[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*\.?$/;

/** Parses http.allowedHosts ("hub.example.org, nas.example.org") into lower-case names. */
export function parseAllowedHosts(list: string): Set<string> {
  return new Set(
    list
      .split(',')
      .map((h) => h.trim().toLowerCase().replace(/\.$/, ''))
      .filter((h) => h.length > 0),
  );
}

/** Whether a Host header names the hub in a way no outside DNS can fake. Absent (HTTP/1.0): allowed. */
export function isAllowedHost(host: string | undefined, allowed: ReadonlySet<string> = new Set()): boolean {
  if (host === undefined) return true;
  const h = host.trim().toLowerCase();
  if (h.length === 0 || h.length > 300) return false;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 && IPV6_LITERAL.test(h.slice(0, end + 1)) && /^(:\d{1,5})?$/.test(h.slice(end + 1));
  }
  const name = h.replace(/:\d{1,5}$/, '');
  if (isIP(name) === 4) return true;
  if (!NAME.test(name)) return false;
  const bare = name.replace(/\.$/, '');
  if (allowed.has(bare)) return true;
  return !bare.includes('.') || LOCAL_SUFFIXES.some((s) => bare.endsWith(s));
}
