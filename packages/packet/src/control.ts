// Barrel for ICMPv6/ND, IGMP, MLD, DHCPv4, DHCPv6 and DNS codecs.
export {};
