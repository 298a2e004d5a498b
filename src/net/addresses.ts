/**
 * Where the household can reach the hub from another device: its LAN addresses and its mDNS name
 * (`<hostname>.local`), instead of the wildcard address it binds to (0.0.0.0 opens nothing on a
 * phone). Pure: the interfaces and the host name are passed in.
 */
import type { NetworkInterfaceInfo } from 'node:os';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Host names (mDNS first, then IPv4, then IPv6 with brackets) that reach a server bound to `bindHost`. */
export function reachableHosts(bindHost: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, hostname: string): string[] {
  if (!WILDCARDS.has(bindHost)) return [bindHost.includes(':') ? `[${bindHost}]` : bindHost];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const i of infos ?? []) {
      if (i.internal) continue;
      if (i.family === 'IPv4') v4.push(i.address);
      // Link-local IPv6 needs a zone a browser cannot take; only routable ones are useful here.
      else if (bindHost === '::' && !i.address.toLowerCase().startsWith('fe80')) v6.push(`[${i.address}]`);
    }
  }
  const name = /^[a-z0-9][a-z0-9-]{0,62}$/i.test(hostname) ? [`${hostname}.local`] : [];
  const hosts = [...name, ...v4, ...v6];
  return hosts.length > 0 ? hosts : ['127.0.0.1'];
}

export function urlsFor(scheme: string, hosts: string[], port: number, path = ''): string[] {
  return hosts.map((h) => `${scheme}://${h}:${port}${path}`);
}
