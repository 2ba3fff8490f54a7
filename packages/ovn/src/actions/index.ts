/**
 * The OVN logical action language (ovn-sb(5) "actions"): parser with OVN's error messages and
 * prerequisites, and OVN's canonical formatting.
 */
export * from './ast.js';
export * from './parse.js';
export * from './format.js';
