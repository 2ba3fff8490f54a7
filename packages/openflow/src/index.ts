/**
 * @ovnts/openflow: flow keys, match fields, the classifier and ovs-ofctl text syntax for an
 * OpenFlow 1.5 switch that behaves like Open vSwitch.
 */
export * from './errors.js';
export * from './flowkey.js';
export * from './fields.js';
export * from './match.js';
export * from './extract.js';
export * from './classifier.js';
export * from './actions.js';
export * from './ofctl-text.js';
export * from './commit.js';
export * from './ports.js';
export * from './pipeline.js';
export * from './switch.js';
export * from './trace-format.js';
export * from './clock/index.js';
export * from './conntrack/index.js';
export * from './stateful/index.js';
