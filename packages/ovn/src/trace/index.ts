/**
 * ovn-trace on a northbound database: the logical-flow interpreter, its southbound view, the
 * traced packet, and ovn-trace's three output forms.
 */
export * from '../actions/index.js';
export * from './flow.js';
export * from './db.js';
export * from './trace.js';
export * from './match.js';
export * from './print.js';
export * from './api.js';
