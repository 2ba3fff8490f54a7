/**
 * Stateful OpenFlow engines, standalone and called by the pipeline: learn, conjunctive matches,
 * flow timeouts and statistics, select/fast-failover group choice with OVS's hashes, meters, the
 * NORMAL L2 switch, packet-in records and packet-out validation. See docs/openflow-stateful.md.
 */
export * from './ovs-hash.js';
export * from './flow-hash.js';
export * from './group-text.js';
export * from './select.js';
export * from './learn.js';
export * from './conjunction.js';
export * from './timeouts.js';
export * from './meters.js';
export * from './normal.js';
export * from './packet-out.js';
