/**
 * @ovnts/geneve: Geneve (RFC 8926) with OVN's option, VXLAN (RFC 7348), and allocation-free
 * tunnel encapsulation/decapsulation over IPv4/IPv6 + UDP.
 */
export * from './geneve.js';
export * from './ovn-option.js';
export * from './vxlan.js';
export * from './encap.js';
export * from './layers.js';
