/** The start banner names addresses a phone can open, not the wildcard the servers bind to. */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { reachableHosts, urlsFor } from '../src/net/addresses.js';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;
const interfaces = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('192.168.1.40', 'IPv4'), iface('fe80::1', 'IPv6'), iface('fd00::40', 'IPv6')],
  wlan0: [iface('10.0.0.7', 'IPv4')],
};

describe('reachable addresses', () => {
  it('bound to every interface: the mDNS name, then the LAN addresses; never 0.0.0.0 or loopback', () => {
    expect(reachableHosts('0.0.0.0', interfaces, 'hearth')).toEqual(['hearth.local', '192.168.1.40', '10.0.0.7']);
    expect(reachableHosts('::', interfaces, 'hearth')).toEqual(['hearth.local', '192.168.1.40', '10.0.0.7', '[fd00::40]']);
    expect(urlsFor('http', ['hearth.local'], 8080, '/')).toEqual(['http://hearth.local:8080/']);
  });

  it('bound to one address: that one; a host name that is no DNS label gets no .local name', () => {
    expect(reachableHosts('192.168.1.40', interfaces, 'hearth')).toEqual(['192.168.1.40']);
    expect(reachableHosts('fd00::40', interfaces, 'hearth')).toEqual(['[fd00::40]']);
    expect(reachableHosts('0.0.0.0', interfaces, 'my_hub!')).toEqual(['192.168.1.40', '10.0.0.7']);
    expect(reachableHosts('0.0.0.0', { lo: interfaces.lo }, 'x.y')).toEqual(['127.0.0.1']);
  });
});
