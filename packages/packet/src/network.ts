// Barrel for ARP, IPv4, IPv6, ICMPv4, UDP and TCP codecs.
export * from './arp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './icmpv4.js';
export * from './udp.js';
export * from './tcp.js';
