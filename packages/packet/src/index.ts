/**
 * @ovnts/packet: zero-copy wire views and `Repr` codecs for the protocols an OVN network carries.
 */
export * from './bytes.js';
export * from './errors.js';
export * from './addr.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './vlan.js';
export * from './network.js';
export * from './control.js';
export * from './prefix.js';
export * from './builder.js';
export * from './options.js';
