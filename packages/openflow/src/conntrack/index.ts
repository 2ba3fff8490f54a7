/** Connection tracking with OVS userspace semantics: `Conntrack`, NAT, timeouts, limits, dumps. */
export * from './constants.js';
export * from './conntrack.js';
export * from './nat.js';
export * from './format.js';
export { TUPLE_WORDS, T_META, T_SRC, T_DST, T_SPORT, T_DPORT } from './store.js';
