// Barrel for ICMPv6/ND, IGMP, MLD, DHCPv4, DHCPv6 and DNS codecs.
export * from './icmpv6.js';
export * from './igmp.js';
export * from './mld.js';
export * from './dhcpv4.js';
export * from './dhcpv6.js';
export * from './dns.js';
