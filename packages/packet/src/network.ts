// Barrel for ARP, IPv4, IPv6, ICMPv4, UDP and TCP codecs.
export {};
