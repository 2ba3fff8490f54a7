/**
 * `@ovnts/ovn/internal`: every module of the package, for tests and tools that need the building
 * blocks (flow builders' helpers, the traced packet, lexer internals, datum helpers). No stability
 * promise; the public API is `@ovnts/ovn` (index.ts). Names here are the modules' own, so some
 * coincide with @ovnts/openflow's (`Action`, `Pipeline`, `TraceNode`, `formatAction`, ...).
 */
export * from './expr/index.js';
export * from './nb/index.js';
export * from './northd/index.js';
export * from './trace/index.js';
export * from './sb/index.js';
