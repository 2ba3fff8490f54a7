export * from './expr/index.js';
export * from './nb/index.js';
export * from './northd/index.js';
export * from './trace/index.js';
export * from './sb/index.js';
