export * from './stages.js';
export * from './types.js';
export * from './addrs.js';
export * from './context.js';
export * from './lb.js';
export * from './nat.js';
export * from './format.js';
export * from './northd.js';
